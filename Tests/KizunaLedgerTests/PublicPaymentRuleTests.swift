import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// Payments to public bodies and clubs, and standing orders (issue 18, docs/ledger-rules.md
/// "Payments to public bodies and clubs", "Standing orders"); one test per refusal code.
@Suite("Public payment rules")
struct PublicPaymentRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let shop = Fixture.account(9)
    /// The city's tax collection account and a football club.
    let taxOffice = Fixture.account(20)
    let club = Fixture.account(21)

    /// 2026-05-10 00:00 Japan time: the first instalment's due date in these tests.
    let mayTenth = Fixture.time("2026-05-10T00:00:00+09:00")
    let juneTenth = Fixture.time("2026-06-10T00:00:00+09:00")

    func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 50_000), (bob, 20_000)])
        try ledger.commitAll([
            ledger.register(shop.publicKey, role: .merchant, merchantCategory: "utility"),
            ledger.register(taxOffice.publicKey, role: .organisation, merchantCategory: OrganisationKind.publicBody),
            ledger.register(club.publicKey, role: .organisation, merchantCategory: OrganisationKind.club),
        ])
        return ledger
    }

    @Test("pay_public: taxes, fees and donations in coins, counted per organisation, month and purpose; the organisation redeems its coins")
    func payingTheCity() throws {
        let ledger = try town()
        try ledger.commitAll([
            ledger.payPublic(from: alice, to: taxOffice.publicKey, 12_000, .tax),
            ledger.payPublic(from: bob, to: taxOffice.publicKey, 3_000, .fee),
            ledger.payPublic(from: alice, to: club.publicKey, 1_000, .donation),
        ], at: Fixture.time("2026-04-20T10:00:00+09:00"))
        try ledger.commitAll([ledger.payPublic(from: bob, to: taxOffice.publicKey, 8_000, .tax)], at: Fixture.time("2026-05-01T10:00:00+09:00"))
        #expect(try ledger.coin(alice) == 50_000 - 13_000 && ledger.coin(bob) == 20_000 - 11_000)
        let office = taxOffice.publicKey.address.description
        let rows = try ledger.reports.collections().map { "\($0.organisation) \($0.kind) \($0.month) \($0.purpose) \($0.amountYen)" }
        #expect(rows.sorted() == [
            "\(office) public 2026-04 tax 12000", "\(office) public 2026-04 fee 3000", "\(office) public 2026-05 tax 8000",
            "\(club.publicKey.address) club 2026-04 donation 1000",
        ].sorted())
        #expect(try ledger.reports.collections(month: 202605).map(\.amountYen) == [8_000])
        try ledger.commitAll([ledger.redeem(taxOffice, reference: "city-payout-1")])
        let statement = try #require(try ledger.reports.settlements(merchant: taxOffice.publicKey))
        #expect(statement.settlements.first?.lines.first?.gross == 23_000 && statement.unredeemedCoin == 0)
        try ledger.expectInvariants()
    }

    @Test("pay_public refusals: invalid_purpose, wrong_role, insufficient_balance, invalid_amount, unknown_account, self_transfer, frozen")
    func payPublicRefusals() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.payPublic(from: alice, to: club.publicKey, 100, .tax), .invalidPurpose)
        try ledger.expectRejected(ledger.payPublic(from: alice, to: shop.publicKey, 100, .fee), .wrongRole)
        try ledger.expectRejected(ledger.payPublic(from: alice, to: bob.publicKey, 100, .fee), .wrongRole)
        try ledger.expectRejected(ledger.payPublic(from: shop, to: taxOffice.publicKey, 100, .tax), .wrongRole)
        try ledger.expectRejected(ledger.payPublic(from: alice, to: taxOffice.publicKey, 50_001, .tax), .insufficientBalance)
        try ledger.expectRejected(ledger.payPublic(from: alice, to: taxOffice.publicKey, 0, .tax), .invalidAmount)
        try ledger.expectRejected(ledger.payPublic(from: alice, to: Fixture.account(40).publicKey, 100, .fee), .unknownAccount)
        // Points are not taken: a resident with points only cannot pay a tax with them.
        let program = try ledger.createdProgram()
        try ledger.commitAll([ledger.register(Fixture.account(3).publicKey), ledger.grant(program, to: Fixture.account(3).publicKey, 500)])
        try ledger.expectRejected(ledger.payPublic(from: Fixture.account(3), to: taxOffice.publicKey, 100, .tax), .insufficientBalance)
        try ledger.commitAll([ledger.freeze(club.publicKey)])
        try ledger.expectRejected(ledger.payPublic(from: alice, to: club.publicKey, 100, .donation), .frozen)
        #expect(try ledger.reports.collections().isEmpty)
    }

    @Test("register: an organisation's category is public or club, without resident attributes (ledger.invalid_attribute)")
    func organisationRegistration() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.register(Fixture.account(30).publicKey, role: .organisation), .invalidAttribute)
        try ledger.expectRejected(ledger.register(Fixture.account(30).publicKey, role: .organisation, merchantCategory: "temple"), .invalidAttribute)
        try ledger.expectRejected(ledger.register(Fixture.account(30).publicKey, role: .organisation, merchantCategory: "club", ageBand: 2), .invalidAttribute)
        // Residents pay merchants with pay, organisations with pay_public.
        try ledger.expectRejected(ledger.pay(from: alice, to: taxOffice.publicKey, 100), .wrongRole)
    }

    @Test("a standing order: instalments when due, within the cap; one over the cap is refused; the payer cancels")
    func standingOrder() throws {
        let ledger = try town()
        let authorise = ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 1_000, firstMonth: 202605, day: 10)
        try ledger.commitAll([authorise])
        let order = authorise.id
        try ledger.expectRejected(ledger.payInstalment(order, payer: alice.publicKey, 1_000, by: club), .instalmentNotDue, at: mayTenth - 1)
        try ledger.expectRejected(ledger.payInstalment(order, payer: alice.publicKey, 1_200, by: club), .instalmentCapExceeded, at: mayTenth)
        try ledger.commitAll([ledger.payInstalment(order, payer: alice.publicKey, 1_000, by: club)], at: mayTenth)
        try ledger.expectRejected(ledger.payInstalment(order, payer: alice.publicKey, 1_000, by: club), .instalmentNotDue)
        // Anyone may submit a due instalment: the money still goes payer → payee.
        try ledger.commitAll([ledger.payInstalment(order, payer: alice.publicKey, 800, by: bob)], at: juneTenth)
        #expect(try ledger.coin(alice) == 48_200 && ledger.coin(bob) == 20_000 && ledger.account(club.publicKey)?.coin == 1_800)
        let state = try #require(try ledger.standingOrder(order))
        #expect(state.paid == 2 && state.paidYen == 1_800 && state.dueAt(2) == Fixture.time("2026-07-10T00:00:00+09:00"))
        let listed = try ledger.reports.standingOrders(payer: alice.publicKey)
        #expect(listed.count == 1 && listed[0].status == "active" && listed[0].nextDueAt == Fixture.time("2026-07-10T00:00:00+09:00"))
        #expect(try ledger.reports.collections().map(\.amountYen) == [1_000, 800])
        try ledger.expectRejected(ledger.cancelStandingOrder(order, payee: club.publicKey, by: bob), .notAuthorised)
        try ledger.commitAll([ledger.cancelStandingOrder(order, payee: club.publicKey, by: alice)])
        try ledger.expectRejected(ledger.payInstalment(order, payer: alice.publicKey, 100, by: club), .standingOrderInactive, at: Fixture.time("2026-07-10T00:00:00+09:00"))
        try ledger.expectRejected(ledger.cancelStandingOrder(order, payee: club.publicKey, by: alice), .standingOrderInactive)
        #expect(try ledger.reports.standingOrders(payer: alice.publicKey).first?.status == "cancelled")
        try ledger.expectInvariants()
    }

    @Test("a standing order to a merchant pays like pay (points first); a limited schedule finishes")
    func standingOrderToMerchant() throws {
        let ledger = try town()
        let program = try ledger.createdProgram()
        let authorise = ledger.authoriseStandingOrder(from: bob, payee: shop.publicKey, cap: 5_000, firstMonth: 202604, day: 1, interval: 3, instalments: 1)
        try ledger.commitAll([authorise, ledger.grant(program, to: bob.publicKey, 300)])
        try ledger.commitAll([ledger.payInstalment(authorise.id, payer: bob.publicKey, 4_000, by: shop)])
        // Bob held 500 points (200 of charge bonus, 300 granted): they go first.
        #expect(try ledger.point(bob) == 0 && ledger.coin(bob) == 16_500)
        try ledger.expectRejected(ledger.payInstalment(authorise.id, payer: bob.publicKey, 100, by: shop), .standingOrderInactive, at: Fixture.time("2026-07-01T00:00:00+09:00"))
        #expect(try ledger.reports.standingOrders(payer: bob.publicKey).first?.status == "finished")
        try ledger.expectInvariants()
    }

    @Test("standing-order refusals: invalid_standing_order, invalid_purpose, wrong_role, unknown_account, self_transfer, unknown_standing_order, insufficient_balance, frozen")
    func standingOrderRefusals() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 0, firstMonth: 202605, day: 10), .invalidStandingOrder)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 100, firstMonth: 202605, day: 29), .invalidStandingOrder)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 100, firstMonth: 202613, day: 1), .invalidStandingOrder)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 100, firstMonth: 202605, day: 1, interval: 13), .invalidStandingOrder)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 100, purpose: .tax, firstMonth: 202605, day: 1), .invalidPurpose)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: shop.publicKey, cap: 100, purpose: .tax, firstMonth: 202605, day: 1), .invalidPurpose)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: bob.publicKey, cap: 100, firstMonth: 202605, day: 1), .wrongRole)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: shop, payee: club.publicKey, cap: 100, firstMonth: 202605, day: 1), .wrongRole)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: Fixture.account(40).publicKey, cap: 100, firstMonth: 202605, day: 1), .unknownAccount)
        try ledger.expectRejected(ledger.authoriseStandingOrder(from: alice, payee: alice.publicKey, cap: 100, firstMonth: 202605, day: 1), .selfTransfer)
        let authorise = ledger.authoriseStandingOrder(from: bob, payee: taxOffice.publicKey, cap: 30_000, purpose: .tax, firstMonth: 202604, day: 1)
        try ledger.commitAll([authorise])
        try ledger.expectRejected(ledger.payInstalment(Hash.sha256([1]), payer: bob.publicKey, 100, by: taxOffice), .unknownStandingOrder)
        try ledger.expectRejected(ledger.payInstalment(authorise.id, payer: alice.publicKey, 100, by: taxOffice), .unknownStandingOrder)
        try ledger.expectRejected(ledger.cancelStandingOrder(authorise.id, payee: club.publicKey, by: bob), .unknownStandingOrder)
        try ledger.expectRejected(ledger.payInstalment(authorise.id, payer: bob.publicKey, 0, by: taxOffice), .invalidAmount)
        try ledger.expectRejected(ledger.payInstalment(authorise.id, payer: bob.publicKey, 25_000, by: taxOffice), .insufficientBalance)
        try ledger.commitAll([ledger.freeze(bob.publicKey)])
        try ledger.expectRejected(ledger.payInstalment(authorise.id, payer: bob.publicKey, 100, by: taxOffice), .frozen)
    }

    @Test("decoding: purposes 1–3, the standing-order kinds round-trip")
    func encoding() throws {
        #expect(PaymentPurpose.allCases.map(\.rawValue) == [1, 2, 3])
        #expect(throws: DecodingError.self) { _ = try PaymentPurpose(canonicalBytes: [4]) }
        let order = AuthoriseStandingOrder(payee: club.publicKey, capYen: 1, purpose: .fee, reference: "r", schedule: StandingOrderSchedule(firstMonth: 202605, dayOfMonth: 1))
        #expect(try AuthoriseStandingOrder(canonicalBytes: order.canonicalBytes) == order)
        #expect(Role(rawValue: 7) == .organisation && Role.organisation.name == "organisation")
    }
}
