public import KizunaCore

/// Paying the city, public bodies and clubs, and standing orders (issue 18,
/// docs/ledger-rules.md "Payments to public bodies and clubs" and "Standing orders").
/// An organisation (role `organisation`, category `public` or `club`) is paid in coins only —
/// points are a merchant campaign's value, owed by their funders to merchants — and redeems
/// its coins like a merchant.
extension Ledger {
    /// An organisation is registered with its kind as its category and no resident attributes.
    func checkOrganisationRegistration(_ body: Register) throws(TransactionError) {
        guard let kind = body.merchantCategory, OrganisationKind.all.contains(kind) else {
            throw TransactionError(.invalidAttribute, "an organisation's category is its kind: '\(OrganisationKind.publicBody)' (a public body's collection account) or '\(OrganisationKind.club)' (a club or NPO)")
        }
        guard body.residentIdHash == nil, body.ageBand == nil else {
            throw TransactionError(.invalidAttribute, "resident attributes do not apply to an organisation")
        }
    }

    /// `pay_public`: a resident pays an organisation a tax, a fee or a donation.
    func payPublic(_ body: PayPublic, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        try payOrganisation(from: signer, to: body.to, amount: body.amount, purpose: body.purpose, context: context, overlay: &overlay)
    }

    /// The organisation `key` with a purpose it may collect, or the refusal.
    private func collector(_ key: PublicKey, purpose: PaymentPurpose, overlay: StateOverlay) throws -> AccountState {
        guard let payee = try overlay.account(key) else { throw TransactionError(.unknownAccount, "\(key.address) is not registered") }
        guard payee.role == .organisation else {
            throw TransactionError(.wrongRole, "\(key.address) is a \(payee.role.name); pay_public pays public bodies and clubs (organisation accounts)")
        }
        guard !payee.frozen else { throw TransactionError(.frozen, "the organisation's account is frozen") }
        if purpose == .tax && payee.merchantCategory != OrganisationKind.publicBody {
            throw TransactionError(.invalidPurpose, "taxes are paid to public bodies only; \(key.address) is a club")
        }
        return payee
    }

    /// Coins from a resident to an organisation, counted in the organisation's collections
    /// for the Japan-time month and the purpose.
    private func payOrganisation(from payerKey: PublicKey, to payeeKey: PublicKey, amount: Amount, purpose: PaymentPurpose, context: BlockContext, overlay: inout StateOverlay) throws {
        guard payeeKey != payerKey else { throw TransactionError(.selfTransfer, "an account cannot pay itself") }
        guard amount > 0 else { throw TransactionError(.invalidAmount, "a payment must be at least ¥1") }
        guard let payer = try overlay.account(payerKey) else { throw TransactionError(.unknownAccount, "the payer is not registered") }
        guard payer.role == .resident else {
            throw TransactionError(.wrongRole, "residents pay public bodies and clubs; a \(payer.role.name) cannot (a card pays merchants only)")
        }
        guard !payer.frozen else { throw TransactionError(.frozen, "the payer's account is frozen") }
        let payee = try collector(payeeKey, purpose: purpose, overlay: overlay)
        try moveCoins(amount, from: (payerKey, payer), to: (payeeKey, payee), payeeName: "organisation", context: context, overlay: &overlay) { held in
            "coins ¥\(held) are less than ¥\(amount) (public bodies and clubs are paid in coins; points are spent at merchants)"
        }
        try overlay.addAmount(StateKey.collected(payeeKey, CivilTime.japanYearMonth(milliseconds: context.timestamp), purpose), amount)
    }

    /// `authorise_standing_order`: a resident lets a payee collect instalments.
    func authoriseStandingOrder(_ body: AuthoriseStandingOrder, signer: PublicKey, id: Hash, context: BlockContext, overlay: inout StateOverlay) throws {
        guard let payer = try overlay.account(signer), payer.role == .resident else {
            throw TransactionError(.wrongRole, "only a resident authorises standing orders")
        }
        guard body.payee != signer else { throw TransactionError(.selfTransfer, "a standing order to oneself") }
        guard body.capYen > 0 else { throw TransactionError(.invalidStandingOrder, "the cap per instalment must be at least ¥1") }
        if let problem = body.schedule.problem { throw TransactionError(.invalidStandingOrder, problem) }
        guard let payee = try overlay.account(body.payee) else { throw TransactionError(.unknownAccount, "\(body.payee.address) is not registered") }
        if payee.role == .organisation {
            _ = try collector(body.payee, purpose: body.purpose, overlay: overlay)
        } else {
            guard payee.role == .merchant else {
                throw TransactionError(.wrongRole, "\(body.payee.address) is a \(payee.role.name); standing orders pay organisations and merchants")
            }
            guard body.purpose != .tax else { throw TransactionError(.invalidPurpose, "taxes are paid to public bodies only, not to a merchant") }
        }
        let order = StandingOrderState(id: id, payer: signer, terms: body, authorisedAt: context.timestamp)
        overlay.set(StateKey.standingOrder(id), order.canonicalBytes)
        overlay.set(StateKey.payerStandingOrder(signer, id), [1])
    }

    /// The standing order `id`, checked against the party the transaction names.
    private func standingOrder(_ id: Hash, payer: PublicKey? = nil, payee: PublicKey? = nil, overlay: StateOverlay) throws -> StandingOrderState {
        guard let order = try overlay.standingOrder(id), payer.map({ $0 == order.payer }) ?? true, payee.map({ $0 == order.terms.payee }) ?? true else {
            throw TransactionError(.unknownStandingOrder, "no standing order \(id) between the accounts named")
        }
        if let cancelledAt = order.cancelledAt {
            throw TransactionError(.standingOrderInactive, "the standing order was cancelled at \(CivilTime.formatJapan(milliseconds: cancelledAt))")
        }
        guard !order.isFinished else {
            throw TransactionError(.standingOrderInactive, "all \(order.terms.schedule.instalments) instalments of the standing order are paid")
        }
        return order
    }

    /// `pay_instalment`: the next due instalment, within the cap, from the payer to the payee.
    func payInstalment(_ body: PayInstalment, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        var order = try standingOrder(body.order, payer: body.payer, overlay: overlay)
        let due = order.dueAt(order.paid)
        guard context.timestamp >= due else {
            throw TransactionError(.instalmentNotDue, "instalment \(order.paid + 1) is due from \(CivilTime.formatJapan(milliseconds: due))")
        }
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "an instalment must be at least ¥1") }
        guard body.amount <= order.terms.capYen else {
            throw TransactionError(.instalmentCapExceeded, "¥\(body.amount) is over the ¥\(order.terms.capYen) per instalment the payer authorised")
        }
        guard let payer = try overlay.account(order.payer) else { throw LedgerInconsistency("the payer of standing order \(order.id) is not registered") }
        guard !payer.frozen else { throw TransactionError(.frozen, "the payer's account is frozen") }
        if try overlay.account(order.terms.payee)?.role == .organisation {
            try payOrganisation(from: order.payer, to: order.terms.payee, amount: body.amount, purpose: order.terms.purpose, context: context, overlay: &overlay)
        } else {
            try pay(Pay(merchant: order.terms.payee, amount: body.amount), signer: order.payer, context: context, overlay: &overlay)
        }
        order.paid += 1
        order.paidYen += body.amount
        order.lastPaidAt = context.timestamp
        overlay.set(StateKey.standingOrder(order.id), order.canonicalBytes)
    }

    /// `cancel_standing_order`: the payer ends the order; nothing more is collected.
    func cancelStandingOrder(_ body: CancelStandingOrder, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        var order = try standingOrder(body.order, payee: body.payee, overlay: overlay)
        guard order.payer == signer else {
            throw TransactionError(.notAuthorised, "only the payer \(order.payer.address) may cancel the standing order")
        }
        order.cancelledAt = context.timestamp
        overlay.set(StateKey.standingOrder(order.id), order.canonicalBytes)
    }
}
