import Foundation
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// The daily settlement file per funder (issue 21, docs/settlement-file.md).
@Suite("Settlement file")
struct SettlementFileTests {
    let alice = Fixture.account(0)
    let shop = Fixture.account(9)
    let cafe = Fixture.account(10)

    /// Alice pays the shop (100 city points, then coins) and the café; the shop redeems at
    /// 14:59:59.999 (day 1's file), the café at 15:00:00.000 (day 2's file).
    func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness(genesis: PaymentRuleTests.noBonusGenesis())
        try ledger.setUpResidents([(alice, 20_000)])
        try ledger.commitAll([ledger.register(shop.publicKey, role: .merchant, merchantCategory: "super, market"),
                              ledger.register(cafe.publicKey, role: .merchant, merchantCategory: "cafe")])
        let program = try ledger.createdProgram(name: "welcome")
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 100)])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 2_445), ledger.pay(from: alice, to: cafe.publicKey, 1_000)], at: Fixture.time("2026-04-01T10:00:00+09:00"))
        try ledger.commitAll([ledger.redeem(shop, reference: "bank \"0001\"")], at: Fixture.time("2026-04-01T15:00:00+09:00") - 1)
        try ledger.commitAll([ledger.redeem(cafe, reference: "cafe-1")], at: Fixture.time("2026-04-01T15:00:00+09:00"))
        return ledger
    }

    func file(_ ledger: LedgerHarness, funder: PrivateKey, day: Int64, cutoff: SettlementCutoff = .standard) throws -> LedgerReports.SettlementFile {
        try ledger.reports.settlementFile(funder: funder.publicKey, year: 2026, month: 4, day: day, cutoff: cutoff, asOf: ledger.timestamp)
    }

    @Test("a redemption before the cut-off is in the day's file, one at the cut-off in the next day's; lines per funder")
    func window() throws {
        let ledger = try town()
        let day1 = try file(ledger, funder: Fixture.coinIssuerKey, day: 1)
        #expect(day1.lines.map(\.merchant) == [shop.publicKey])
        #expect(day1.lines.map { [$0.gross, $0.fee, $0.net] } == [[2_345, 35, 2_310]])
        #expect(day1.final, "a block at the cut-off is committed")
        let city = try file(ledger, funder: Fixture.cityKey, day: 1)
        #expect(city.lines.map { "\($0.asset.name) \($0.gross) \($0.fee) \($0.net)" } == ["point 100 1 99"])
        let day2 = try file(ledger, funder: Fixture.coinIssuerKey, day: 2)
        #expect(day2.lines.map(\.merchant) == [cafe.publicKey] && !day2.final)
        // With a 16:00 cut-off both redemptions are day 1's.
        #expect(try file(ledger, funder: Fixture.coinIssuerKey, day: 1, cutoff: SettlementCutoff(text: "16:00")!).lines.count == 2)
    }

    @Test("the CSV: H, D and T records, CRLF, quoted fields, totals")
    func csv() throws {
        let ledger = try town()
        let text = try file(ledger, funder: Fixture.coinIssuerKey, day: 1).csv
        let records = text.components(separatedBy: "\r\n")
        #expect(records.count == 4 && records[3] == "", "three records, each ended by CRLF")
        #expect(records[0] == "H,\(Fixture.coinIssuerKey.publicKey.address),20260401,15:00,local-test,final,2026-03-31T15:00:00.000+09:00,2026-04-01T15:00:00.000+09:00")
        #expect(records[1] == "D,1,\(shop.publicKey.address),\"super, market\",0,2026-04-01T14:59:59.999+09:00,\"bank \"\"0001\"\"\",coin,2345,35,2310")
        #expect(records[2] == "T,1,2345,35,2310")
        let empty = try file(ledger, funder: Fixture.auditorKey, day: 1).csv
        #expect(empty.hasSuffix("\r\nT,0,0,0,0\r\n"))
    }

    @Test("cut-off text: HH:MM only")
    func cutoffText() {
        #expect(SettlementCutoff(text: "15:00") == .standard)
        #expect(SettlementCutoff(text: "00:00")?.minutes == 0 && SettlementCutoff(text: "23:59")?.minutes == 1_439)
        for bad in ["24:00", "9:00", "09:60", "0900", "+9:00", "09:0a", ""] { #expect(SettlementCutoff(text: bad) == nil, "\(bad)") }
    }
}
