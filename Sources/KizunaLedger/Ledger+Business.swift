public import KizunaCore

/// Business payments and invoices (issue 21, docs/ledger-rules.md "Business payments and
/// invoices"). A business is a merchant account; businesses pay each other in coins only —
/// points a merchant received are owed by their funders to that merchant and are paid out
/// by `redeem`, never passed on.
extension Ledger {
    /// `pay_business`: coins from one business to another.
    func payBusiness(_ body: PayBusiness, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard !body.reference.isEmpty else { throw TransactionError(.invalidAttribute, "a business payment needs a reference (an order or delivery note)") }
        try moveBusinessCoins(from: signer, to: body.to, amount: body.amount, context: context, overlay: &overlay)
    }

    /// `issue_invoice`: the signer (the payee) bills another business.
    func issueInvoice(_ body: IssueInvoice, signer: PublicKey, id: Hash, context: BlockContext, overlay: inout StateOverlay) throws {
        guard let issuer = try overlay.account(signer), issuer.role == .merchant else {
            throw TransactionError(.wrongRole, "only a business (a merchant account) issues invoices")
        }
        guard body.payer != signer else { throw TransactionError(.selfTransfer, "a business cannot invoice itself") }
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "an invoice must be for at least ¥1") }
        guard !body.reference.isEmpty else { throw TransactionError(.invalidAttribute, "an invoice needs a reference (the invoice number)") }
        guard body.dueAt > context.timestamp else {
            throw TransactionError(.invoiceDueInPast, "the due date \(CivilTime.formatJapan(milliseconds: body.dueAt)) is not after the block time \(CivilTime.formatJapan(milliseconds: context.timestamp))")
        }
        guard let payer = try overlay.account(body.payer) else {
            throw TransactionError(.unknownAccount, "\(body.payer.address) is not registered")
        }
        guard payer.role == .merchant else {
            throw TransactionError(.wrongRole, "\(body.payer.address) is a \(payer.role.name); invoices are sent to businesses (merchant accounts)")
        }
        let referenceKey = StateKey.invoiceReference(signer, body.reference)
        guard try overlay.get(referenceKey) == nil else {
            throw TransactionError(.duplicateInvoiceReference, "invoice reference '\(body.reference)' was already used by this issuer")
        }
        overlay.set(referenceKey, id.bytes)
        let invoice = InvoiceState(id: id, issuer: signer, payer: body.payer, amount: body.amount, dueAt: body.dueAt, reference: body.reference, issuedAt: context.timestamp)
        overlay.set(StateKey.invoice(id), invoice.canonicalBytes)
        overlay.set(StateKey.partyInvoice(signer, id), [1])
        overlay.set(StateKey.partyInvoice(body.payer, id), [2])
    }

    /// The invoice `id` between `issuer` and `payer`, or `ledger.unknown_invoice`.
    private func invoice(_ id: Hash, issuer: PublicKey?, payer: PublicKey?, overlay: StateOverlay) throws -> InvoiceState {
        guard let invoice = try overlay.decoded(StateKey.invoice(id), as: InvoiceState.self) else {
            throw TransactionError(.unknownInvoice, "no invoice has id \(id)")
        }
        if let issuer, issuer != invoice.issuer {
            throw TransactionError(.unknownInvoice, "invoice \(id) was not issued by \(issuer.address)")
        }
        if let payer, payer != invoice.payer {
            throw TransactionError(.unknownInvoice, "invoice \(id) is not addressed to \(payer.address)")
        }
        return invoice
    }

    /// Refuses an invoice that is cancelled or paid in full.
    private func requireOpen(_ invoice: InvoiceState) throws(TransactionError) {
        guard invoice.cancelledAt == nil else { throw TransactionError(.invoiceCancelled, "invoice '\(invoice.reference)' was cancelled by its issuer") }
        guard invoice.paid < invoice.amount else { throw TransactionError(.invoiceSettled, "invoice '\(invoice.reference)' is paid in full") }
    }

    /// `pay_invoice`: the payer pays all or part of what is open; late payments are taken
    /// and marked late.
    func payInvoice(_ body: PayInvoice, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        var invoice = try invoice(body.invoice, issuer: body.issuer, payer: nil, overlay: overlay)
        guard invoice.payer == signer else {
            throw TransactionError(.notInvoicePayer, "invoice '\(invoice.reference)' is addressed to \(invoice.payer.address), not to the signer")
        }
        try requireOpen(invoice)
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "a payment must be at least ¥1") }
        let open = invoice.amount - invoice.paid
        guard body.amount <= open else {
            throw TransactionError(.invoiceOverpayment, "¥\(body.amount) is more than the ¥\(open) still open on invoice '\(invoice.reference)'")
        }
        try moveBusinessCoins(from: signer, to: invoice.issuer, amount: body.amount, context: context, overlay: &overlay)
        invoice.paid += body.amount
        invoice.payments += 1
        invoice.lastPaidAt = context.timestamp
        if context.timestamp >= invoice.dueAt { invoice.paidLate = true }
        overlay.set(StateKey.invoice(invoice.id), invoice.canonicalBytes)
    }

    /// `cancel_invoice`: the issuer cancels what is still open (what was paid stays paid).
    func cancelInvoice(_ body: CancelInvoice, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        var invoice = try invoice(body.invoice, issuer: nil, payer: body.payer, overlay: overlay)
        guard invoice.issuer == signer else {
            throw TransactionError(.notInvoiceIssuer, "only the issuer \(invoice.issuer.address) may cancel invoice '\(invoice.reference)'")
        }
        try requireOpen(invoice)
        invoice.cancelledAt = context.timestamp
        overlay.set(StateKey.invoice(invoice.id), invoice.canonicalBytes)
    }

    /// Coins from one business to another: both merchants, not frozen, not the same.
    private func moveBusinessCoins(from payerKey: PublicKey, to payeeKey: PublicKey, amount: Amount, context: BlockContext, overlay: inout StateOverlay) throws {
        guard payeeKey != payerKey else { throw TransactionError(.selfTransfer, "a business cannot pay itself") }
        guard amount > 0 else { throw TransactionError(.invalidAmount, "a payment must be at least ¥1") }
        guard let payer = try overlay.account(payerKey) else { throw TransactionError(.unknownAccount, "the payer is not registered") }
        guard payer.role == .merchant else { throw TransactionError(.wrongRole, "only businesses (merchant accounts) pay businesses; residents pay with pay") }
        guard let payee = try overlay.account(payeeKey) else { throw TransactionError(.unknownAccount, "\(payeeKey.address) is not registered") }
        guard payee.role == .merchant else { throw TransactionError(.wrongRole, "\(payeeKey.address) is a \(payee.role.name); business payments go to businesses") }
        guard !payee.frozen else { throw TransactionError(.frozen, "the payee's account is frozen") }
        try moveCoins(amount, from: (payerKey, payer), to: (payeeKey, payee), payeeName: "payee", context: context, overlay: &overlay) { held in
            "the business holds ¥\(held) in coins, less than ¥\(amount) (points received are redeemed, not passed on)"
        }
    }
}
