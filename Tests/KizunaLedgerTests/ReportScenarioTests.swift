import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// A small town's March (docs/ledger-rules.md, "Worked scenario"), with every report checked
/// against values computed by hand; and the deposit rule of the unused-balance report.
@Suite("Report scenarios")
struct ReportScenarioTests {
    // Residents A–E; E loses her phone and becomes E2.
    let a = Fixture.account(0)
    let b = Fixture.account(1)
    let c = Fixture.account(2)
    let d = Fixture.account(3)
    let e = Fixture.account(4)
    let e2 = Fixture.account(5)
    /// Supermarket S and restaurant R (R funds its own 10% campaign).
    let s = Fixture.account(9)
    let r = Fixture.account(10)

    var issuer: String { Fixture.coinIssuerKey.publicKey.address.description }
    var city: String { Fixture.cityKey.publicKey.address.description }

    /// Report rows as text (the report types' memberwise initialisers are internal).
    func line(_ asset: String, _ funder: String, _ gross: UInt64, _ fee: UInt64) -> String {
        "\(asset) \(funder) gross=\(gross) fee=\(fee) net=\(gross - fee)"
    }

    func text(_ line: LedgerReports.Statement.Line) -> String {
        "\(line.asset) \(line.funder) gross=\(line.gross) fee=\(line.fee) net=\(line.net)"
    }

    func text(_ supply: LedgerReports.Supply) -> String {
        "\(supply.asset) minted=\(supply.minted) redeemed=\(supply.redeemed) refunded=\(supply.refunded) expired=\(supply.expired) outstanding=\(supply.outstanding)"
    }

    @Test("a small town's March: supply, program utilization, settlements by funder, unused balance at 31 March")
    func townMonth() throws {
        let genesis = Fixture.genesis(genesisTime: Fixture.time("2027-01-15T00:00:00+09:00"))
        let ledger = try LedgerHarness(genesis: genesis)
        func at(_ text: String) -> UInt64 { Fixture.time(text) }
        let eResidentId = TransactionBuilder.residentIdHash(residentId: "KZ-5", salt: [5])

        // January: accounts, a thanks allowance that expires on 1 March.
        try ledger.commitAll([
            ledger.register(a.publicKey), ledger.register(b.publicKey), ledger.register(c.publicKey), ledger.register(d.publicKey),
            ledger.register(e.publicKey, residentIdHash: eResidentId, district: "kita", ageBand: 3),
            ledger.register(s.publicKey, role: .merchant, merchantCategory: "supermarket", district: "kita"),
            ledger.register(r.publicKey, role: .merchant, merchantCategory: "restaurant"),
        ], at: at("2027-01-15T09:00:00+09:00"))
        try ledger.commitAll([
            ledger.createProgram(.thanks, name: "January thanks", budget: 10_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), perResidentCap: 1_000),
            ledger.grant(1, to: a.publicKey, 500), ledger.grant(1, to: b.publicKey, 300),
        ], at: at("2027-01-20T10:00:00+09:00"))
        try ledger.commitAll([ledger.thank(from: a, to: c.publicKey, 200)], at: at("2027-01-25T10:00:00+09:00"))

        // 1 March: the January thanks expire (A 300, B 300, C 200); the city sets up the month.
        try ledger.commitAll([
            ledger.createProgram(.point, name: "solar subsidy", budget: 50_000, expiry: Fixture.sixMonths, perResidentCap: 10_000),
            ledger.createProgram(.point, name: "Soba-ya 10%", funder: r.publicKey, budget: 20_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), perResidentCap: 5_000,
                                 rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 1_000)),
            ledger.createProgram(.thanks, name: "March thanks", budget: 5_000, expiry: Fixture.threeMonths, perResidentCap: 1_000),
        ], at: at("2027-03-01T09:00:00+09:00"))
        #expect(try ledger.thanks(a) == 0 && ledger.thanks(c) == 0)
        // Charges on both channels (bonus: app 1%, machine 1.5%).
        try ledger.commitAll([
            ledger.charge(a.publicKey, 30_000, channel: .app),           // +300
            ledger.charge(b.publicKey, 20_000, channel: .chargeMachine), // +300
            ledger.charge(c.publicKey, 10_000, channel: .chargeMachine), // +150
            ledger.charge(d.publicKey, 5_000, channel: .app),            // +50
            ledger.charge(e.publicKey, 40_000, channel: .chargeMachine), // +600
        ], at: at("2027-03-02T10:00:00+09:00"))
        try ledger.commitAll([
            ledger.grant(2, to: a.publicKey, 5_000), ledger.grant(2, to: c.publicKey, 5_000),
            ledger.grant(4, to: a.publicKey, 1_000), ledger.grant(4, to: b.publicKey, 1_000), ledger.grant(4, to: d.publicKey, 1_000),
        ], at: at("2027-03-03T10:00:00+09:00"))
        // Payments.
        try ledger.commitAll([
            ledger.pay(from: a, to: r.publicKey, 2_000),   // points: 300 bonus + 1,700 subsidy; no rebate
            ledger.pay(from: b, to: r.publicKey, 3_300),   // 300 bonus + 3,000 coins; rebate 300
            ledger.pay(from: d, to: s.publicKey, 5_050),   // 50 bonus + 5,000 coins; no rebate (supermarket)
            ledger.pay(from: e, to: r.publicKey, 12_600),  // 600 bonus + 12,000 coins; rebate 1,200 → 1,000 (monthly cap)
        ], at: at("2027-03-05T12:00:00+09:00"))
        #expect(try ledger.point(b) == 300 && ledger.point(e) == 1_000)
        // Sends and thanks.
        try ledger.commitAll([
            ledger.send(from: a, to: c.publicKey, 5_000), ledger.send(from: b, to: d.publicKey, 2_000),
            ledger.thank(from: a, to: b.publicKey, 400), ledger.thank(from: d, to: a.publicKey, 300),
        ], at: at("2027-03-08T18:00:00+09:00"))
        // E loses her phone: frozen, then recovered to E2 by the registrar and the city.
        try ledger.commitAll([ledger.freeze(e.publicKey)], at: at("2027-03-10T09:00:00+09:00"))
        try ledger.commitAll([ledger.recover(e.publicKey, to: e2.publicKey)], at: at("2027-03-11T09:00:00+09:00"))
        #expect(try ledger.coin(e2) == 28_000 && ledger.point(e2) == 1_000)
        try ledger.commitAll([
            ledger.pay(from: e2, to: s.publicKey, 1_500),  // 1,000 campaign points + 500 coins
            ledger.pay(from: c, to: s.publicKey, 8_000),   // 150 bonus + 5,000 subsidy + 2,850 coins
        ], at: at("2027-03-15T12:00:00+09:00"))
        // Redemptions.
        try ledger.commitAll([ledger.redeem(r, reference: "R-2027-03"), ledger.redeem(s, reference: "S-2027-03")], at: at("2027-03-20T17:00:00+09:00"))
        try ledger.commitAll([ledger.pay(from: a, to: r.publicKey, 1_000)], at: at("2027-03-25T12:00:00+09:00")) // subsidy points
        // D moves away: an exempt refund.
        try ledger.commitAll([ledger.refund(d.publicKey, 2_000, reason: .movedAway)], at: at("2027-03-31T23:00:00+09:00"))
        try ledger.expectInvariants()

        // Balances at the end of March.
        #expect(try [a, b, c, d, e, e2].map { try ledger.coin($0) } == [25_000, 15_000, 12_150, 0, 0, 27_500])
        #expect(try [a, b, c, d, e, e2].map { try ledger.point($0) } == [2_300, 300, 0, 0, 0, 0])
        #expect(try [a, b, c, d, e, e2].map { try ledger.thanks($0) } == [900, 1_400, 0, 700, 0, 0])

        // Supply per asset.
        let supply = try ledger.reports.supply()
        let expectedSupply: [String] = [
            "coin minted=105000 redeemed=23350 refunded=2000 expired=0 outstanding=79650",
            "point minted=12700 redeemed=9100 refunded=0 expired=0 outstanding=3600",
            "thanks minted=3800 redeemed=0 refunded=0 expired=800 outstanding=3000",
        ]
        #expect(supply.map(text) == expectedSupply)

        // Program utilization.
        let programs = try ledger.reports.programs()
        #expect(programs.map(\.name) == ["charge bonus", "January thanks", "solar subsidy", "Soba-ya 10%", "March thanks"])
        #expect(programs.map(\.granted) == [1_400, 800, 10_000, 1_300, 3_000])
        #expect(programs.map(\.used) == [1_400, 0, 7_700, 1_000, 0])
        #expect(programs.map(\.expired) == [0, 800, 0, 0, 0])
        #expect(programs.map(\.outstanding) == [0, 0, 2_300, 300, 3_000])
        #expect(programs.dropFirst().map(\.remaining) == [9_200, 40_000, 18_700, 2_000])
        #expect(programs[3].funder == r.publicKey.address.description && programs[3].rebate)

        // Merchant statements, split by funder (fee 1.5%, rounded down per line).
        let restaurant = try #require(try ledger.reports.settlements(merchant: r.publicKey))
        #expect(restaurant.settlements.count == 1 && restaurant.settlements[0].reference == "R-2027-03")
        #expect(restaurant.settlements[0].time == "2027-03-20T17:00:00.000+09:00")
        // Point lines come in the order of the funders' keys.
        let restaurantPoints = [(Fixture.coinIssuerKey.publicKey, line("point", issuer, 1_200, 18)), (Fixture.cityKey.publicKey, line("point", city, 1_700, 25))]
            .sorted { $0.0 < $1.0 }.map(\.1)
        #expect(restaurant.settlements[0].lines.map(text) == [line("coin", issuer, 15_000, 225)] + restaurantPoints)
        #expect(restaurant.unredeemedCoin == 0 && restaurant.unredeemedPoint == 1_000)
        let supermarket = try #require(try ledger.reports.settlements(merchant: s.publicKey))
        // Totals are sorted by asset name, then by the funder's address text.
        let supermarketPoints = [(issuer, line("point", issuer, 200, 3)), (city, line("point", city, 5_000, 75)), (r.publicKey.address.description, line("point", r.publicKey.address.description, 1_000, 15))]
            .sorted { $0.0 < $1.0 }.map(\.1)
        #expect(supermarket.totalsByFunder.map(text) == [line("coin", issuer, 8_350, 125)] + supermarketPoints)
        #expect(supermarket.totalsByFunder.reduce(0) { $0 + $1.net } == 14_550 - 218)
        #expect(supermarket.unredeemedCoin == 0 && supermarket.unredeemedPoint == 0)

        // Into April: the 31 March figure is fixed by the first April block (whose own charge
        // does not count). ¥79,650 is below ¥10,000,000: no deposit.
        let provisional = try #require(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31))
        #expect(!provisional.closed)
        try ledger.commitAll([ledger.charge(b.publicKey, 1_000, channel: .app)], at: at("2027-04-01T09:00:00+09:00"))
        #expect(describe(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31)) == describe(baseDate: "2027-03-31", closed: true, outstanding: 79_650, deposit: 0, refundLimit: 3_982))
        // The April period's refund limit: max(20% of 105,000 issued in October–March, 5% of 79,650).
        #expect(try ledger.ledger.refundLimit(period: LedgerCalendar.basePeriod(ledger.timestamp), overlay: ledger.overlay) == 21_000)
        #expect(try ledger.reports.supply()[0].outstanding == 80_650)
        try ledger.expectInvariants()
    }

    @Test("unused balance: the deposit is half, rounded up, only above ¥10,000,000")
    func depositAboveThreshold() throws {
        var policy = Genesis.defaultCoinPolicy
        policy.holderCapYen = 20_000_000
        policy.expiry = ExpiryRule(kind: .endOfMonthAfterLastChange, months: 36)
        let ledger = try LedgerHarness(genesis: Fixture.genesis(coin: policy))
        try ledger.setUpResidents([(a, 0), (b, 0)])
        try ledger.commitAll([ledger.charge(a.publicKey, 10_000_000)])
        #expect(try ledger.point(a) == 100_000, "the 1% bonus is trimmed to the point cap")
        try ledger.commitAll([ledger.charge(b.publicKey, 1)], at: Fixture.time("2026-10-01T09:00:00+09:00"))
        #expect(describe(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 30)) == describe(baseDate: "2026-09-30", closed: true, outstanding: 10_000_000, deposit: 0, refundLimit: 500_000))
        try ledger.commitAll([ledger.charge(b.publicKey, 7_999_999)], at: Fixture.time("2027-04-01T09:00:00+09:00"))
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31)?.depositRequiredYen == 5_000_001, "10,000,001 / 2 rounded up")
        try ledger.commitAll([ledger.charge(b.publicKey, 1)], at: Fixture.time("2027-10-01T09:00:00+09:00"))
        let report = try #require(try ledger.reports.unusedBalance(year: 2027, month: 9, day: 30))
        #expect(report.outstandingYen == 18_000_000 && report.depositRequiredYen == 9_000_000 && report.refundLimitFromUnusedYen == 900_000)
        try ledger.expectInvariants()
    }
}
