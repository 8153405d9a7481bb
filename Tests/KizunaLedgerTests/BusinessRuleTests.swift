import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Business payments and invoices (issue 21, docs/ledger-rules.md "Business payments and
/// invoices"), one rule and one error code at a time.
@Suite("Business payment and invoice rules")
struct BusinessRuleTests {
    let alice = Fixture.account(0)
    let farm = Fixture.account(9)
    let inn = Fixture.account(10)
    let shop = Fixture.account(11)

    /// Alice (resident, ¥20,000); a farm, an inn and a shop. The inn holds ¥8,000 in coins
    /// (Alice paid it) and 300 points; the farm holds nothing yet.
    func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness(genesis: PaymentRuleTests.noBonusGenesis())
        try ledger.setUpResidents([(alice, 20_000)])
        try ledger.commitAll([ledger.register(farm.publicKey, role: .merchant, merchantCategory: "farm"),
                              ledger.register(inn.publicKey, role: .merchant, merchantCategory: "restaurant"),
                              ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket")])
        let program = try ledger.createdProgram(name: "welcome")
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 300)])
        try ledger.commitAll([ledger.pay(from: alice, to: inn.publicKey, 8_300)])
        return ledger
    }

    func payBusiness(_ ledger: LedgerHarness, from: PrivateKey, to: PublicKey, _ amount: Amount, reference: String = "order-1") -> SignedTransaction {
        ledger.sign(from, .payBusiness(PayBusiness(to: to, amount: amount, reference: reference)))
    }

    func issue(_ ledger: LedgerHarness, by issuer: PrivateKey, to payer: PublicKey, _ amount: Amount, due: UInt64? = nil, reference: String = "INV-1") -> SignedTransaction {
        ledger.sign(issuer, .issueInvoice(IssueInvoice(payer: payer, amount: amount, dueAt: due ?? ledger.timestamp + 7 * 86_400_000, reference: reference)))
    }

    func payInvoice(_ ledger: LedgerHarness, _ invoice: Hash, issuer: PublicKey, by payer: PrivateKey, _ amount: Amount) -> SignedTransaction {
        ledger.sign(payer, .payInvoice(PayInvoice(invoice: invoice, issuer: issuer, amount: amount)))
    }

    func cancel(_ ledger: LedgerHarness, _ invoice: Hash, payer: PublicKey, by issuer: PrivateKey) -> SignedTransaction {
        ledger.sign(issuer, .cancelInvoice(CancelInvoice(invoice: invoice, payer: payer)))
    }

    /// The farm bills the inn ¥5,000 due in a week; returns the invoice id.
    func invoiced(_ ledger: LedgerHarness, amount: Amount = 5_000, due: UInt64? = nil) throws -> Hash {
        let invoice = issue(ledger, by: farm, to: inn.publicKey, amount, due: due)
        try ledger.commitAll([invoice])
        return invoice.id
    }

    func invoice(_ ledger: LedgerHarness, _ id: Hash) throws -> InvoiceState {
        try #require(try ledger.reports.invoiceState(id))
    }

    // MARK: pay_business

    @Test("pay_business moves coins from one business to another; the payer's points stay for redemption")
    func businessPayment() throws {
        let ledger = try town()
        try ledger.commitAll([payBusiness(ledger, from: inn, to: farm.publicKey, 3_000)])
        #expect(try ledger.coin(inn) == 5_000 && ledger.point(inn) == 300)
        #expect(try ledger.coin(farm) == 3_000)
        #expect(try ledger.supply(.coin).minted == 20_000, "nothing minted or burnt")
        try ledger.expectInvariants()
    }

    @Test("pay_business refusals: a resident payer or payee, oneself, ¥0, an empty reference, more than the coins (points do not count), unknown or frozen payee")
    func businessPaymentRefusals() throws {
        let ledger = try town()
        try ledger.expectRejected(payBusiness(ledger, from: alice, to: farm.publicKey, 100), .wrongRole)
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: alice.publicKey, 100), .wrongRole)
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: inn.publicKey, 100), .selfTransfer)
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: farm.publicKey, 0), .invalidAmount)
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: farm.publicKey, 100, reference: ""), .invalidAttribute)
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: farm.publicKey, 8_001), .insufficientBalance)
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: Fixture.account(30).publicKey, 100), .unknownAccount)
        try ledger.commitAll([ledger.freeze(farm.publicKey)])
        try ledger.expectRejected(payBusiness(ledger, from: inn, to: farm.publicKey, 100), .frozen)
    }

    // MARK: issue_invoice

    @Test("issue_invoice records the invoice under the transaction's id, indexed for both parties and by reference; it moves no value")
    func issued() throws {
        let ledger = try town()
        let due = ledger.timestamp + 86_400_000
        let id = try invoiced(ledger, due: due)
        let state = try invoice(ledger, id)
        #expect(state.issuer == farm.publicKey && state.payer == inn.publicKey && state.amount == 5_000 && state.dueAt == due && state.reference == "INV-1")
        #expect(state.paid == 0 && state.cancelledAt == nil && state.status(at: ledger.timestamp) == "open")
        #expect(try ledger.reports.invoices(of: farm.publicKey, at: ledger.timestamp, limit: 10).map(\.id) == [id.hex])
        #expect(try ledger.reports.invoices(of: inn.publicKey, at: ledger.timestamp, limit: 10).map(\.id) == [id.hex])
        #expect(try ledger.reports.invoices(of: shop.publicKey, at: ledger.timestamp, limit: 10).isEmpty)
        #expect(try ledger.coin(inn) == 8_000 && ledger.coin(farm) == 0)
        try ledger.expectInvariants()
    }

    @Test("issue_invoice refusals: a resident issuer or payer, oneself, ¥0, no reference, a due date not after the block, an unknown payer, a reused reference")
    func issueRefusals() throws {
        let ledger = try town()
        try ledger.expectRejected(issue(ledger, by: alice, to: inn.publicKey, 100), .wrongRole)
        try ledger.expectRejected(issue(ledger, by: farm, to: alice.publicKey, 100), .wrongRole)
        try ledger.expectRejected(issue(ledger, by: farm, to: farm.publicKey, 100), .selfTransfer)
        try ledger.expectRejected(issue(ledger, by: farm, to: inn.publicKey, 0), .invalidAmount)
        try ledger.expectRejected(issue(ledger, by: farm, to: inn.publicKey, 100, reference: ""), .invalidAttribute)
        // The block is one second after the last; a due date at the block time is refused.
        try ledger.expectRejected(issue(ledger, by: farm, to: inn.publicKey, 100, due: ledger.timestamp + 1_000), .invoiceDueInPast)
        try ledger.expectRejected(issue(ledger, by: farm, to: Fixture.account(30).publicKey, 100), .unknownAccount)
        _ = try invoiced(ledger)
        try ledger.expectRejected(issue(ledger, by: farm, to: shop.publicKey, 100), .duplicateInvoiceReference)
        // Another issuer may use the same number.
        try ledger.commitAll([issue(ledger, by: shop, to: farm.publicKey, 100)])
    }

    // MARK: pay_invoice

    @Test("partial payments, then the rest: open → partially_paid → paid, coins to the issuer")
    func partialThenFull() throws {
        let ledger = try town()
        let id = try invoiced(ledger)
        try ledger.commitAll([payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 2_000)])
        #expect(try invoice(ledger, id).status(at: ledger.timestamp) == "partially_paid")
        #expect(try ledger.reports.invoice(id, at: ledger.timestamp)?.outstanding == 3_000)
        try ledger.commitAll([payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 1_000), payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 2_000)])
        let state = try invoice(ledger, id)
        #expect(state.paid == 5_000 && state.payments == 3 && state.lastPaidAt == ledger.timestamp && !state.paidLate)
        #expect(state.status(at: ledger.timestamp) == "paid")
        #expect(try ledger.coin(inn) == 3_000 && ledger.coin(farm) == 5_000)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 1), .invoiceSettled)
        try ledger.expectInvariants()
    }

    @Test("a payment at or after the due date is taken and marked late: overdue → paid_late")
    func latePayment() throws {
        let ledger = try town()
        let due = ledger.timestamp + 10_000
        let id = try invoiced(ledger, due: due)
        try ledger.commitAll([payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 1_000)], at: due - 1)
        #expect(try invoice(ledger, id).status(at: due - 1) == "partially_paid")
        #expect(try invoice(ledger, id).status(at: due) == "overdue")
        try ledger.commitAll([payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 4_000)], at: due)
        let state = try invoice(ledger, id)
        #expect(state.paidLate && state.status(at: due) == "paid_late")
    }

    @Test("pay_invoice refusals: unknown id or wrong issuer, not the payer, more than is open, ¥0, more than the coins")
    func payRefusals() throws {
        let ledger = try town()
        let id = try invoiced(ledger, amount: 9_000)
        try ledger.expectRejected(payInvoice(ledger, Hash.sha256([1, 2, 3]), issuer: farm.publicKey, by: inn, 100), .unknownInvoice)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: shop.publicKey, by: inn, 100), .unknownInvoice)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: farm.publicKey, by: shop, 100), .notInvoicePayer)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 9_001), .invoiceOverpayment)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 0), .invalidAmount)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 8_500), .insufficientBalance)
    }

    // MARK: cancel_invoice

    @Test("cancel_invoice by the issuer closes what is open; what was paid stays paid; no payment after it")
    func cancelled() throws {
        let ledger = try town()
        let id = try invoiced(ledger)
        try ledger.commitAll([payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 1_500)])
        try ledger.commitAll([cancel(ledger, id, payer: inn.publicKey, by: farm)])
        let state = try invoice(ledger, id)
        #expect(state.cancelledAt == ledger.timestamp && state.paid == 1_500 && state.outstanding == 0 && state.status(at: ledger.timestamp) == "cancelled")
        #expect(try ledger.coin(farm) == 1_500)
        try ledger.expectRejected(payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 100), .invoiceCancelled)
        try ledger.expectRejected(cancel(ledger, id, payer: inn.publicKey, by: farm), .invoiceCancelled)
        try ledger.expectInvariants()
    }

    @Test("cancel_invoice refusals: not the issuer, wrong payer named, unknown id, paid in full")
    func cancelRefusals() throws {
        let ledger = try town()
        let id = try invoiced(ledger)
        try ledger.expectRejected(cancel(ledger, id, payer: inn.publicKey, by: inn), .notInvoiceIssuer)
        try ledger.expectRejected(cancel(ledger, id, payer: shop.publicKey, by: farm), .unknownInvoice)
        try ledger.expectRejected(cancel(ledger, Hash.sha256([9]), payer: inn.publicKey, by: farm), .unknownInvoice)
        try ledger.commitAll([payInvoice(ledger, id, issuer: farm.publicKey, by: inn, 5_000)])
        try ledger.expectRejected(cancel(ledger, id, payer: inn.publicKey, by: farm), .invoiceSettled)
    }

    // MARK: invariants and replay

    @Test("the block check refuses an invoice paid over its amount, paid less than before, re-opened, re-written or deleted")
    func invoiceInvariants() throws {
        var open = InvoiceState(id: Hash.sha256([1]), issuer: farm.publicKey, payer: inn.publicKey, amount: 1_000, dueAt: 10, reference: "A", issuedAt: 1)
        open.paid = 400
        var over = open
        over.paid = 1_001
        var less = open
        less.paid = 300
        var cancelled = open
        cancelled.cancelledAt = 5
        var rebilled = open
        rebilled.amount = 2_000
        func problems(_ before: InvoiceState?, _ after: InvoiceState?) -> [String] {
            BlockInvariants.violations([BlockInvariants.Change(key: StateKey.invoice(open.id), before: before?.canonicalBytes, after: after?.canonicalBytes)])
        }
        #expect(problems(nil, open).isEmpty && problems(open, cancelled).isEmpty)
        #expect(problems(nil, over).count == 1)
        #expect(problems(open, less).count == 1)
        #expect(problems(cancelled, open).count == 1)
        #expect(problems(open, rebilled).count == 1)
        #expect(problems(open, nil).count == 1)
    }

    @Test("a business day replays on a fresh store to the same roots and state")
    func replay() throws {
        let ledger = try town()
        let fresh = try copyStore(ledger.store)
        var history: [(transactions: [VerifiedTransaction], context: BlockContext, root: Hash)] = []
        func run(_ transactions: [SignedTransaction]) throws {
            let execution = try ledger.block(transactions)
            #expect(execution.rejected.isEmpty)
            history.append((execution.accepted, BlockContext(height: ledger.height, timestamp: ledger.timestamp), execution.stateRoot))
        }
        let first = issue(ledger, by: farm, to: inn.publicKey, 4_000)
        try run([first, payBusiness(ledger, from: inn, to: shop.publicKey, 1_000), issue(ledger, by: shop, to: farm.publicKey, 700, reference: "S-1")])
        try run([payInvoice(ledger, first.id, issuer: farm.publicKey, by: inn, 4_000), cancel(ledger, try #require(ledger.reports.invoices(of: shop.publicKey, at: ledger.timestamp, limit: 1).first.flatMap { Hash(hex: $0.id) }), payer: farm.publicKey, by: shop)])
        for block in history {
            let replay = try ledger.ledger.execute(block.transactions, context: block.context, store: fresh, mode: .validate)
            #expect(replay.stateRoot == block.root)
            try fresh.write(replay.batch, sync: false)
        }
        #expect(snapshot(fresh, [.state, .stateTree]) == snapshot(ledger.store, [.state, .stateTree]))
        try ledger.expectInvariants()
    }
}
