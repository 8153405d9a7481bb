import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// set_program_terms, top_up_program and close_program (issue 18, docs/ledger-rules.md "Live
/// programs"): a store's own campaign on set dates, top-ups, closing; one test per code.
@Suite("Program terms rules")
struct ProgramTermsRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    /// The supermarket that runs (and funds) its own campaign, and its competitor.
    let store = Fixture.account(9)
    let competitor = Fixture.account(10)
    let platform = Fixture.account(30)

    let february = Fixture.time("2027-02-01T00:00:00+09:00")
    let februaryEnd = Fixture.time("2027-02-08T00:00:00+09:00")

    /// Alice and Bob with ¥50,000 each; two supermarkets; the store's 10% campaign (funded by
    /// the store, issued by the coin issuer) and the city's subsidy program.
    func town() throws -> (ledger: LedgerHarness, campaign: UInt64, subsidy: UInt64) {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 50_000), (bob, 50_000)])
        try ledger.commitAll([
            ledger.register(store.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(competitor.publicKey, role: .merchant, merchantCategory: "supermarket"),
        ])
        let campaign = try ledger.createdProgram(name: "store 10%", funder: store.publicKey, budget: 20_000, perResidentCap: 5_000,
                                                 rebate: RebateRule(rates: [.init(merchantCategory: "supermarket", basisPoints: 1_000)], monthlyCapPerResidentYen: 3_000),
                                                 by: Fixture.coinIssuerKey)
        let subsidy = try ledger.createdProgram(name: "subsidy", budget: 1_000, perResidentCap: 1_000)
        return (ledger, campaign, subsidy)
    }

    /// Pays and checks the rebate: points are spent first, the rebate is 10% of the coin part.
    func pay(_ ledger: LedgerHarness, _ payer: PrivateKey, _ merchant: PrivateKey, _ amount: UInt64, at time: UInt64? = nil, rebated: Bool, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let points = try ledger.point(payer)
        let coinPart = amount - min(points, amount)
        try ledger.commitAll([ledger.pay(from: payer, to: merchant.publicKey, amount)], at: time, sourceLocation: sourceLocation)
        #expect(try ledger.point(payer) == points - min(points, amount) + (rebated ? coinPart / 10 : 0), comment, sourceLocation: sourceLocation)
    }

    @Test("a store's campaign on set dates rebates only at that store, only within its period")
    func storeCampaignOnSetDates() throws {
        let (ledger, campaign, _) = try town()
        // Without terms the rule covers every supermarket: the competitor's sale is rebated too.
        try pay(ledger, bob, competitor, 2_000, rebated: true, "no terms: every merchant of the category")

        try ledger.commitAll([ledger.setProgramTerms(campaign, startsAt: february, endsAt: februaryEnd, merchants: [store.publicKey], by: Fixture.coinIssuerKey)])
        try pay(ledger, alice, store, 1_000, at: february - 1, rebated: false, "before the period")
        try pay(ledger, alice, store, 2_000, at: february, rebated: true, "in the period, at the store")
        try pay(ledger, alice, competitor, 2_000, at: february + 1_000, rebated: false, "at the competitor")
        try pay(ledger, alice, store, 1_000, at: februaryEnd, rebated: false, "from the end")

        let report = try #require(try ledger.reports.program(campaign))
        #expect(report.startsAt == february && report.endsAt == februaryEnd && report.merchants == [store.publicKey.address.description] && report.closedAt == nil)
        try ledger.expectInvariants()
    }

    @Test("ledger.program_not_active: grants before the period starts and from its end")
    func grantsOutsideThePeriod() throws {
        let (ledger, _, subsidy) = try town()
        try ledger.commitAll([ledger.setProgramTerms(subsidy, startsAt: february, endsAt: februaryEnd)])
        try ledger.expectRejected(ledger.grant(subsidy, to: alice.publicKey, 100), .programNotActive, at: february - 1)
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 100)], at: february)
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 100)], at: februaryEnd - 1)
        try ledger.expectRejected(ledger.grant(subsidy, to: alice.publicKey, 100), .programNotActive, at: februaryEnd)
        // A stranger is still told it may not grant at all.
        try ledger.expectRejected(ledger.grant(subsidy, to: alice.publicKey, 100, by: Fixture.registrarKey), .notAuthorised, at: februaryEnd)
        #expect(try ledger.lots(alice.publicKey).filter { $0.program == subsidy }.reduce(0) { $0 + $1.amount } == 200)
    }

    @Test("top_up_program: the budget grows, the report says by how much; invalid_amount, overflow")
    func topUps() throws {
        let (ledger, _, subsidy) = try town()
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 1_000)])
        try ledger.expectRejected(ledger.grant(subsidy, to: bob.publicKey, 1), .programBudgetExhausted)
        try ledger.expectRejected(ledger.topUpProgram(subsidy, 0), .invalidAmount)
        try ledger.expectRejected(ledger.topUpProgram(subsidy, UInt64.max), .overflow)
        try ledger.commitAll([ledger.topUpProgram(subsidy, 500)])
        try ledger.commitAll([ledger.grant(subsidy, to: bob.publicKey, 500)])
        let report = try #require(try ledger.reports.program(subsidy))
        #expect(report.budget == 1_500 && report.toppedUp == 500 && report.granted == 1_500 && report.remaining == 0)
        try ledger.expectInvariants()
    }

    @Test("close_program: no grants (issuer or delegate), no rebates, nothing more changes it; lots stay")
    func closing() throws {
        let (ledger, campaign, subsidy) = try town()
        try ledger.commitAll([ledger.appointDelegate(subsidy, platform.publicKey, budget: 1_000, perResidentCap: 1_000, perDayCap: 1_000)])
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 300, by: platform)])
        try ledger.commitAll([ledger.closeProgram(subsidy), ledger.closeProgram(campaign, by: Fixture.coinIssuerKey)])
        let closedAt = ledger.timestamp
        try ledger.expectRejected(ledger.grant(subsidy, to: alice.publicKey, 100), .programClosed)
        try ledger.expectRejected(ledger.grant(subsidy, to: alice.publicKey, 100, by: platform), .programClosed)
        try ledger.expectRejected(ledger.topUpProgram(subsidy, 100), .programClosed)
        try ledger.expectRejected(ledger.setProgramTerms(subsidy, endsAt: closedAt + 100_000), .programClosed)
        try ledger.expectRejected(ledger.closeProgram(subsidy), .programClosed)
        try ledger.expectRejected(ledger.appointDelegate(subsidy, Fixture.account(31).publicKey), .programClosed)
        try ledger.commitAll([ledger.revokeDelegate(subsidy, platform.publicKey)])
        #expect(try ledger.lots(alice.publicKey).contains { $0.program == subsidy && $0.amount == 300 }, "granted value stays with the resident")
        try pay(ledger, bob, store, 5_000, rebated: false, "a closed campaign rebates nothing")
        #expect(try ledger.reports.program(subsidy)?.closedAt == closedAt)
        try ledger.expectInvariants()
    }

    @Test("terms, top-ups and closing: only the issuer; never the charge bonus; an existing program")
    func authority() throws {
        let (ledger, campaign, subsidy) = try town()
        for signer in [Fixture.coinIssuerKey, Fixture.registrarKey, alice] {
            try ledger.expectRejected(ledger.setProgramTerms(subsidy, by: signer), .notAuthorised)
            try ledger.expectRejected(ledger.topUpProgram(subsidy, 1, by: signer), .notAuthorised)
            try ledger.expectRejected(ledger.closeProgram(subsidy, by: signer), .notAuthorised)
        }
        try ledger.expectRejected(ledger.closeProgram(campaign), .notAuthorised, at: nil)
        try ledger.expectRejected(ledger.setProgramTerms(99), .unknownProgram)
        try ledger.expectRejected(ledger.topUpProgram(99, 1), .unknownProgram)
        try ledger.expectRejected(ledger.closeProgram(99), .unknownProgram)
        try ledger.expectRejected(ledger.topUpProgram(Ledger.chargeBonusProgram, 1, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.expectRejected(ledger.closeProgram(Ledger.chargeBonusProgram, by: Fixture.coinIssuerKey), .notAuthorised)
    }

    @Test("ledger.invalid_program, unknown_account, wrong_role: every validation of set_program_terms")
    func invalidTerms() throws {
        let (ledger, campaign, subsidy) = try town()
        let now = ledger.timestamp + 1_000
        try ledger.expectRejected(ledger.setProgramTerms(subsidy, startsAt: february, endsAt: february), .invalidProgram)
        try ledger.expectRejected(ledger.setProgramTerms(subsidy, startsAt: 0, endsAt: now), .invalidProgram)
        try ledger.expectRejected(ledger.setProgramTerms(subsidy, merchants: [store.publicKey]), .invalidProgram)
        try ledger.expectRejected(ledger.setProgramTerms(campaign, merchants: [platform.publicKey], by: Fixture.coinIssuerKey), .unknownAccount)
        try ledger.expectRejected(ledger.setProgramTerms(campaign, merchants: [alice.publicKey, store.publicKey], by: Fixture.coinIssuerKey), .wrongRole)
        try ledger.commitAll([ledger.setProgramTerms(subsidy, startsAt: 0, endsAt: now + 1)])
    }

    @Test("set_program_terms decoding: merchants sorted by key without duplicates")
    func decoding() throws {
        let terms = SetProgramTerms(program: 1, merchants: [store.publicKey, competitor.publicKey])
        #expect(terms.merchants == [store.publicKey, competitor.publicKey].sorted())
        let bytes = terms.canonicalBytes
        #expect(try SetProgramTerms(canonicalBytes: bytes) == terms)
        var duplicated = terms
        duplicated.merchants = [store.publicKey, store.publicKey]
        #expect(throws: DecodingError.self) { try SetProgramTerms(canonicalBytes: duplicated.canonicalBytes) }
        var unsorted = terms
        unsorted.merchants = terms.merchants.reversed()
        #expect(throws: DecodingError.self) { try SetProgramTerms(canonicalBytes: unsorted.canonicalBytes) }
    }
}

/// A fixed use-by date (issue 18: premium vouchers with "有効期限"), `ExpiryRule.useByDate`.
@Suite("Use-by date")
struct UseByDateTests {
    let alice = Fixture.account(0)

    @Test("lots of a use-by program expire at 00:00 Japan time after the date, whenever granted")
    func lotsExpireAfterTheDate() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0)])
        let voucher = try ledger.createdProgram(name: "premium voucher", budget: 100_000, expiry: .useBy(year: 2026, month: 5, day: 31), perResidentCap: 10_000)
        try ledger.commitAll([ledger.grant(voucher, to: alice.publicKey, 1_000)], at: Fixture.time("2026-04-20T10:00:00+09:00"))
        try ledger.commitAll([ledger.grant(voucher, to: alice.publicKey, 500)], at: Fixture.time("2026-05-31T23:59:59+09:00"))
        let end = Fixture.time("2026-06-01T00:00:00+09:00")
        #expect(try ledger.lots(alice.publicKey).filter { $0.program == voucher }.map(\.expiresAt) == [end], "one lot: same program, same expiry")
        #expect(try ledger.lots(alice.publicKey).first { $0.program == voucher }?.amount == 1_500)
        try ledger.expectRejected(ledger.grant(voucher, to: alice.publicKey, 100), .programNotActive, at: end)
        try ledger.commitAll([], at: end)
        #expect(try ledger.lots(alice.publicKey).contains { $0.program == voucher } == false)
        #expect(try ledger.program(voucher)?.expired == 1_500)
        try ledger.expectInvariants()
    }

    @Test("ledger.invalid_program: a use-by date that is no calendar date, or already past; genesis refuses it for an asset")
    func invalidUseBy() throws {
        let ledger = try LedgerHarness()
        try ledger.expectRejected(ledger.createProgram(expiry: ExpiryRule(kind: .useByDate, months: 20_260_231)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(expiry: ExpiryRule(kind: .useByDate, months: 20_261_301)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(expiry: ExpiryRule(kind: .useByDate, months: 7)), .invalidProgram)
        // The genesis time is 2026-04-01T00:00+09:00: 31 March is over, 1 April is not.
        try ledger.expectRejected(ledger.createProgram(expiry: .useBy(year: 2026, month: 3, day: 31)), .invalidProgram)
        try ledger.commitAll([ledger.createProgram(expiry: .useBy(year: 2026, month: 4, day: 1))])
        #expect(ExpiryRule.useBy(year: 2027, month: 3, day: 31).useByDay.map { [$0.year, $0.month, $0.day] } == [2027, 3, 31])
        #expect(ExpiryRule.useBy(year: 2027, month: 2, day: 29).useByDay == nil)
    }
}
