import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// Premium sales (issue 18, docs/ledger-rules.md "Premium on charge"): set_premium and
/// charge_extended naming a sale; one test per refusal code; the statutory report keeps paid
/// and premium value apart.
@Suite("Premium rules")
struct PremiumRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let shop = Fixture.account(9)

    /// Three residents without coins, a shop, and the city's sale: ¥300 premium per ¥1,000,
    /// budget ¥3,000, at most ¥1,500 premium per resident, usable through 2026-12-31.
    func sale() throws -> (ledger: LedgerHarness, sale: UInt64) {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0)])
        try ledger.commitAll([ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket")])
        let sale = try ledger.createdProgram(name: "premium 2026", budget: 3_000, expiry: .useBy(year: 2026, month: 12, day: 31), perResidentCap: 1_500)
        try ledger.commitAll([ledger.setPremium(sale, perUnit: 300)])
        return (ledger, sale)
    }

    @Test("a premium charge mints the paid yen as coins and the premium as the sale's points; the unused balance counts only the coins")
    func premiumCharge() throws {
        let (ledger, sale) = try sale()
        try ledger.commitAll([ledger.chargeExtended(alice.publicKey, 5_000, premium: sale)])
        // ¥5,000 paid: coins ¥5,000; premium 5 × ¥300 = 1,500 points from the sale; the app
        // channel's 1% bonus, 50 points from the charge-bonus program.
        #expect(try ledger.coin(alice) == 5_000)
        #expect(try ledger.points(alice, from: sale) == 1_500)
        #expect(try ledger.points(alice, from: Ledger.chargeBonusProgram) == 50)
        let lot = try #require(try ledger.lots(alice.publicKey).first { $0.program == sale })
        #expect(lot.funder == Fixture.cityKey.publicKey && lot.expiresAt == Fixture.time("2027-01-01T00:00:00+09:00"))
        let state = try #require(try ledger.premium(sale))
        #expect(state.charges == 1 && state.paidYen == 5_000 && state.premiumYen == 1_500)
        let premiums = try ledger.reports.premiums()
        #expect(premiums.map { "\($0.program) \($0.name) \($0.funder) \($0.unitYen) \($0.premiumPerUnitYen) \($0.basisPoints) \($0.charges) \($0.paidYen) \($0.premiumYen)" }
                == ["\(sale) premium 2026 \(Fixture.cityKey.publicKey.address) 1000 300 0 1 5000 1500"])
        // The statutory report: coins only (paid-in value), never the premium.
        let report = try #require(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 30))
        #expect(report.outstandingYen == 5_000)
        #expect(try ledger.supply(.point).minted == 1_550)
        // Spending: points first (the sale's premium and the bonus), so the shop is owed the
        // premium by the city.
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 2_000)])
        #expect(try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey) == 1_500)
        #expect(try ledger.receivable(shop.publicKey, Fixture.coinIssuerKey.publicKey) == 50)
        #expect(try ledger.coin(alice) == 4_550)
        try ledger.expectInvariants()
    }

    @Test("a rate per unit: 2000 basis points on whole ¥1,000 units")
    func ratePremium() throws {
        let (ledger, _) = try sale()
        let rated = try ledger.createdProgram(name: "rate", budget: 10_000, perResidentCap: 10_000)
        try ledger.commitAll([ledger.setPremium(rated, rate: 2_000)])
        try ledger.commitAll([ledger.chargeExtended(bob.publicKey, 2_999, premium: rated)])
        #expect(try ledger.points(bob, from: rated) == 400)
        #expect(PremiumRule(unitYen: 1, basisPoints: 500).premium(on: 1_000) == 50)
        #expect(PremiumRule(unitYen: 1_000, premiumPerUnitYen: 5).premium(on: 1_000) == 5)
    }

    @Test("ledger.per_resident_cap_exceeded and program_budget_exhausted: the whole charge is refused, no coins minted")
    func capsRefuseTheCharge() throws {
        let (ledger, sale) = try sale()
        try ledger.commitAll([ledger.chargeExtended(alice.publicKey, 5_000, premium: sale)])
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, premium: sale), .perResidentCapExceeded)
        try ledger.commitAll([ledger.chargeExtended(bob.publicKey, 5_000, premium: sale)])
        try ledger.expectRejected(ledger.chargeExtended(carol.publicKey, 1_000, premium: sale), .programBudgetExhausted)
        #expect(try ledger.coin(carol) == 0)
        // A charge without the sale still goes through.
        try ledger.commitAll([ledger.chargeExtended(carol.publicKey, 1_000)])
        #expect(try ledger.coin(carol) == 1_000)
        try ledger.expectInvariants()
    }

    @Test("ledger.invalid_amount, not_premium_program, unknown_program, program_not_active, program_closed, holder_cap_exceeded on a premium charge")
    func premiumChargeRefusals() throws {
        let (ledger, sale) = try sale()
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 999, premium: sale), .invalidAmount)
        let plain = try ledger.createdProgram(name: "plain")
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, premium: plain), .notPremiumProgram)
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, premium: 99), .unknownProgram)
        let later = Fixture.time("2026-06-01T00:00:00+09:00")
        try ledger.commitAll([ledger.setProgramTerms(sale, startsAt: later)])
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, premium: sale), .programNotActive)
        try ledger.commitAll([ledger.chargeExtended(alice.publicKey, 1_000, premium: sale)], at: later)
        // 100% premium with room for 90,000 points while holding 20,000: over the point cap.
        let generous = try ledger.createdProgram(name: "generous", budget: 200_000, perResidentCap: 200_000)
        try ledger.commitAll([ledger.setPremium(generous, unit: 1, rate: 10_000), ledger.grant(plain, to: bob.publicKey, 20_000)])
        try ledger.expectRejected(ledger.chargeExtended(bob.publicKey, 90_000, premium: generous), .holderCapExceeded)
        try ledger.commitAll([ledger.closeProgram(sale)])
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, premium: sale), .programClosed)
        try ledger.expectInvariants()
    }

    @Test("set_premium: ledger.invalid_premium, not_authorised, unknown_program, program_closed; a new rule replaces the old")
    func setPremiumRefusals() throws {
        let (ledger, sale) = try sale()
        let thanks = try ledger.createdProgram(.thanks, name: "thanks")
        try ledger.expectRejected(ledger.setPremium(thanks, perUnit: 5), .invalidPremium)
        try ledger.expectRejected(ledger.setPremium(sale, unit: 0, perUnit: 5), .invalidPremium)
        try ledger.expectRejected(ledger.setPremium(sale, perUnit: 5, rate: 100), .invalidPremium)
        try ledger.expectRejected(ledger.setPremium(sale), .invalidPremium)
        try ledger.expectRejected(ledger.setPremium(sale, rate: 100_001), .invalidPremium)
        try ledger.expectRejected(ledger.setPremium(sale, unit: 10, perUnit: 101), .invalidPremium)
        try ledger.commitAll([ledger.setPremium(sale, unit: 10, perUnit: 100)])
        try ledger.expectRejected(ledger.setPremium(sale, perUnit: 5, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.expectRejected(ledger.setPremium(99, perUnit: 5), .unknownProgram)
        try ledger.expectRejected(ledger.setPremium(Ledger.chargeBonusProgram, perUnit: 5, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.commitAll([ledger.setPremium(sale, perUnit: 300), ledger.chargeExtended(alice.publicKey, 1_000, premium: sale), ledger.setPremium(sale, perUnit: 100)])
        try ledger.commitAll([ledger.chargeExtended(alice.publicKey, 1_000, premium: sale)])
        let state = try #require(try ledger.premium(sale))
        #expect(state.rule.premiumPerUnitYen == 100 && state.charges == 2 && state.paidYen == 2_000 && state.premiumYen == 400)
        try ledger.commitAll([ledger.closeProgram(sale)])
        try ledger.expectRejected(ledger.setPremium(sale, perUnit: 5), .programClosed)
    }

    @Test("charge_extended decoding: the premium program is an option")
    func encoding() throws {
        let body = ChargeExtended(to: alice.publicKey, amount: 1_000, channel: 3, receiptId: "r", premiumProgram: 7)
        #expect(try ChargeExtended(canonicalBytes: body.canonicalBytes) == body)
        var without = body
        without.premiumProgram = nil
        #expect(without.canonicalBytes.count == body.canonicalBytes.count - 8)
        #expect(TransactionBody.chargeExtended(body).tag == 28 && TransactionBody.setPremium(SetPremium(program: 1, rule: PremiumRule(unitYen: 1))).tag == 27)
    }
}
