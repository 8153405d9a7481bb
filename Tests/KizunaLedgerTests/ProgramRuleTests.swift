import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// create_program, grant and the charge bonus (docs/ledger-rules.md), one rule and one error
/// code at a time.
@Suite("Program rules")
struct ProgramRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let store = Fixture.account(9)
    let stranger = Fixture.account(20)

    func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0)])
        try ledger.commitAll([ledger.register(store.publicKey, role: .merchant, merchantCategory: "restaurant")])
        return ledger
    }

    // MARK: - create_program

    @Test("create_program: ids count up from 1 (0 is the charge bonus); the definition, issuer and rebate list are stored")
    func createProgramStoresDefinition() throws {
        let ledger = try town()
        let bonus = try #require(try ledger.program(Ledger.chargeBonusProgram))
        #expect(bonus.definition.asset == .point && bonus.definition.funder == Fixture.coinIssuerKey.publicKey && bonus.issuer == Fixture.coinIssuerKey.publicKey)
        #expect(bonus.definition.budgetYen == UInt64.max)
        #expect(try ledger.nextProgramId() == 1)

        let createdAt = Fixture.time("2026-04-05T09:00:00+09:00")
        let subsidy = try ledger.createdProgram(.point, name: "solar subsidy", budget: 500_000, perResidentCap: 20_000, at: createdAt)
        let campaign = try ledger.createdProgram(.point, name: "spring 10%", funder: store.publicKey, budget: 50_000, perResidentCap: 5_000,
                                                 rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 1_000), by: Fixture.coinIssuerKey)
        let thanks = try ledger.createdProgram(.thanks, name: "monthly thanks", budget: 100_000, expiry: Fixture.threeMonths, perResidentCap: 3_000)
        #expect([subsidy, campaign, thanks] == [1, 2, 3])
        #expect(try ledger.nextProgramId() == 4)

        let program = try #require(try ledger.program(subsidy))
        #expect(program.id == 1 && program.definition.name == "solar subsidy" && program.definition.funder == Fixture.cityKey.publicKey)
        #expect(program.issuer == Fixture.cityKey.publicKey && program.createdAt == createdAt)
        #expect(program.granted == 0 && program.used == 0 && program.expired == 0 && program.remaining == 500_000)
        #expect(try ledger.program(campaign)?.issuer == Fixture.coinIssuerKey.publicKey)
        #expect(try ledger.program(campaign)?.definition.funder == store.publicKey)
        // Only rebate programs are listed for payments to consult.
        var decoder = KizunaCore.Decoder(try #require(try ledger.store.get(StateKey.rebateProgramsKey, in: .state)))
        #expect(try decoder.decodeUInt32() == 1)
        #expect(try decoder.decodeUInt64() == campaign)

        let report = try ledger.reports.programs()
        #expect(report.map(\.id) == [0, 1, 2, 3])
        #expect(report[2].rebate && !report[1].rebate)
        #expect(report[3].asset == "thanks" && report[3].budget == 100_000 && report[3].remaining == 100_000)
        try ledger.expectInvariants()
    }

    @Test("ledger.not_authorised: create_program by anyone but the city or the coin issuer")
    func createProgramNotAuthorised() throws {
        let ledger = try town()
        for signer in [Fixture.registrarKey, Fixture.auditorKey, alice, store] {
            try ledger.expectRejected(ledger.createProgram(by: signer), .notAuthorised)
        }
    }

    @Test("ledger.invalid_program: every validation of create_program")
    func createProgramInvalid() throws {
        let ledger = try town()
        let rate = RebateRule.Rate(merchantCategory: "restaurant", basisPoints: 1_000)
        try ledger.expectRejected(ledger.createProgram(.coin), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(name: ""), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(budget: 0), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(perResidentCap: 0), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(expiry: ExpiryRule(kind: .endOfMonthAfterLastChange, months: 12)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 0)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1_201)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(.thanks, rebate: RebateRule(rates: [rate], monthlyCapPerResidentYen: 100)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(rebate: RebateRule(rates: [], monthlyCapPerResidentYen: 100)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 0)], monthlyCapPerResidentYen: 100)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 10_001)], monthlyCapPerResidentYen: 100)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(rebate: RebateRule(rates: [.init(merchantCategory: "", basisPoints: 100)], monthlyCapPerResidentYen: 100)), .invalidProgram)
        try ledger.expectRejected(ledger.createProgram(rebate: RebateRule(rates: [rate], monthlyCapPerResidentYen: 0)), .invalidProgram)
        // The boundaries are accepted: 1 and 1200 months, never (months ignored), a 100% rate,
        // a budget and cap of ¥1.
        try ledger.commitAll([
            ledger.createProgram(expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1)),
            ledger.createProgram(expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1_200)),
            ledger.createProgram(.thanks, expiry: Fixture.never),
            ledger.createProgram(budget: 1, perResidentCap: 1, rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 10_000)], monthlyCapPerResidentYen: 1)),
        ])
        #expect(try ledger.nextProgramId() == 5)
    }

    @Test("ledger.unknown_account: create_program with an unregistered funder; a merchant funder is fine")
    func createProgramUnknownFunder() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.createProgram(funder: stranger.publicKey), .unknownAccount)
        try ledger.expectRejected(ledger.createProgram(funder: Fixture.validatorKey.publicKey), .unknownAccount)
        try ledger.commitAll([ledger.createProgram(funder: store.publicKey)])
    }

    // MARK: - grant

    @Test("grant: a lot with program, funder, amount, grant time and Japan-time expiry; counters move together")
    func grantCreatesLot() throws {
        let ledger = try town()
        let subsidy = try ledger.createdProgram(name: "subsidy", budget: 100_000, perResidentCap: 20_000)
        let grantedAt = Fixture.time("2026-04-15T10:00:00+09:00")
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 5_000)], at: grantedAt)
        #expect(try ledger.point(alice) == 5_000)
        #expect(try ledger.lots(alice.publicKey) == [Lot(program: subsidy, funder: Fixture.cityKey.publicKey, amount: 5_000, grantedAt: grantedAt, expiresAt: Fixture.monthStart(2026, 11))])
        #expect(try ledger.program(subsidy)?.granted == 5_000)
        #expect(try ledger.program(subsidy)?.remaining == 95_000)
        #expect(try ledger.amount(StateKey.programResident(subsidy, alice.publicKey)) == 5_000)
        #expect(try ledger.supply(.point).minted == 5_000)
        // The expiry index names the lot's expiry.
        #expect(try ledger.store.get(StateKey.lotExpiry(Fixture.monthStart(2026, 11), alice.publicKey, .point), in: .state) != nil)
        // A second grant with the same expiry merges into the lot (earliest grant time kept).
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 1_000)], at: grantedAt + 60_000)
        #expect(try ledger.lots(alice.publicKey).map(\.amount) == [6_000])
        #expect(try ledger.lots(alice.publicKey).first?.grantedAt == grantedAt)
        try ledger.expectInvariants()
    }

    @Test("grant: lot expiry counts months in Japan time (a grant at 00:00 JST on 1 May is a May grant)")
    func grantExpiryAtJapanMonthBoundary() throws {
        let ledger = try town()
        let points = try ledger.createdProgram(name: "six months", expiry: Fixture.sixMonths)
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", expiry: Fixture.threeMonths, perResidentCap: 10_000)
        let lastSecondOfApril = Fixture.time("2026-04-30T23:59:59+09:00")
        try ledger.commitAll([ledger.grant(points, to: alice.publicKey, 100), ledger.grant(thanks, to: alice.publicKey, 10)], at: lastSecondOfApril)
        let firstSecondOfMay = Fixture.time("2026-05-01T00:00:00+09:00")
        #expect(firstSecondOfMay == Fixture.time("2026-04-30T15:00:00Z"), "still April in UTC")
        try ledger.commitAll([ledger.grant(points, to: bob.publicKey, 100), ledger.grant(thanks, to: bob.publicKey, 10)], at: firstSecondOfMay)
        // April + 6 → end of October → 1 November 00:00 JST; May + 6 → 1 December.
        #expect(try ledger.lots(alice.publicKey).first?.expiresAt == Fixture.monthStart(2026, 11))
        #expect(try ledger.lots(bob.publicKey).first?.expiresAt == Fixture.monthStart(2026, 12))
        // Thanks: April + 3 → 1 August; May + 3 → 1 September.
        #expect(try ledger.lots(alice.publicKey, .thanks).first?.expiresAt == Fixture.monthStart(2026, 8))
        #expect(try ledger.lots(bob.publicKey, .thanks).first?.expiresAt == Fixture.monthStart(2026, 9))
        // Across the year end: a grant in October 2026 expires on 1 May 2027.
        try ledger.commitAll([ledger.grant(points, to: carol.publicKey, 100)], at: Fixture.time("2026-10-31T12:00:00+09:00"))
        #expect(try ledger.lots(carol.publicKey).first?.expiresAt == Fixture.monthStart(2027, 5))
        // A program whose lots never expire.
        let forever = try ledger.createdProgram(name: "forever", expiry: Fixture.never)
        try ledger.commitAll([ledger.grant(forever, to: carol.publicKey, 1)])
        #expect(try ledger.lots(carol.publicKey).last?.expiresAt == UInt64.max)
        try ledger.expectInvariants()
    }

    @Test("ledger.unknown_program: a grant from a program that does not exist")
    func grantUnknownProgram() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.grant(1, to: alice.publicKey, 100), .unknownProgram)
        try ledger.expectRejected(ledger.grant(UInt64.max, to: alice.publicKey, 100), .unknownProgram)
    }

    @Test("ledger.not_authorised: a grant by anyone but the program's issuer; program 0 grants only through charges")
    func grantNotAuthorised() throws {
        let ledger = try town()
        let cityProgram = try ledger.createdProgram()
        let issuerProgram = try ledger.createdProgram(by: Fixture.coinIssuerKey)
        for signer in [Fixture.coinIssuerKey, Fixture.registrarKey, alice] {
            try ledger.expectRejected(ledger.grant(cityProgram, to: bob.publicKey, 100, by: signer), .notAuthorised)
        }
        try ledger.expectRejected(ledger.grant(issuerProgram, to: bob.publicKey, 100, by: Fixture.cityKey), .notAuthorised)
        try ledger.expectRejected(ledger.grant(Ledger.chargeBonusProgram, to: bob.publicKey, 100, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.expectRejected(ledger.grant(Ledger.chargeBonusProgram, to: bob.publicKey, 100, by: Fixture.cityKey), .notAuthorised)
        try ledger.commitAll([ledger.grant(issuerProgram, to: bob.publicKey, 100, by: Fixture.coinIssuerKey)])
    }

    @Test("grant refusals: invalid_amount, unknown_account, wrong_role, frozen")
    func grantRecipientChecks() throws {
        let ledger = try town()
        let program = try ledger.createdProgram()
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 0), .invalidAmount)
        try ledger.expectRejected(ledger.grant(program, to: stranger.publicKey, 100), .unknownAccount)
        try ledger.expectRejected(ledger.grant(program, to: store.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.grant(program, to: Fixture.auditorKey.publicKey, 100), .wrongRole)
        try ledger.commitAll([ledger.freeze(carol.publicKey)])
        try ledger.expectRejected(ledger.grant(program, to: carol.publicKey, 100), .frozen)
    }

    @Test("ledger.program_budget_exhausted: the last grant may use the budget exactly, then nothing more")
    func budgetExhaustedByLastGrant() throws {
        let ledger = try town()
        let program = try ledger.createdProgram(budget: 10_000, perResidentCap: 10_000)
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 6_000)])
        try ledger.expectRejected(ledger.grant(program, to: bob.publicKey, 4_001), .programBudgetExhausted)
        try ledger.commitAll([ledger.grant(program, to: bob.publicKey, 4_000)])
        let state = try #require(try ledger.program(program))
        #expect(state.granted == 10_000 && state.remaining == 0)
        try ledger.expectRejected(ledger.grant(program, to: carol.publicKey, 1), .programBudgetExhausted)
        // Within one block: the second grant is refused once the first used the budget.
        let other = try ledger.createdProgram(budget: 500)
        let nonce = try ledger.nonce(Fixture.cityKey)
        let execution = try ledger.block([
            ledger.sign(Fixture.cityKey, nonce: nonce, .grant(Grant(program: other, to: alice.publicKey, amount: 300))),
            ledger.sign(Fixture.cityKey, nonce: nonce + 1, .grant(Grant(program: other, to: bob.publicKey, amount: 201))),
            // The refused grant's nonce is free again.
            ledger.sign(Fixture.cityKey, nonce: nonce + 1, .grant(Grant(program: other, to: bob.publicKey, amount: 200))),
        ])
        #expect(execution.rejected.map(\.error.code) == [.programBudgetExhausted])
        #expect(try ledger.program(other)?.remaining == 0)
        // Expired or spent value never returns to the budget.
        try ledger.block([], at: Fixture.monthStart(2026, 11))
        #expect(try ledger.program(program)?.expired == 10_000)
        try ledger.expectRejected(ledger.grant(program, to: carol.publicKey, 1), .programBudgetExhausted)
        try ledger.expectInvariants()
    }

    @Test("ledger.per_resident_cap_exceeded: a resident may reach the program's cap exactly")
    func perResidentCap() throws {
        let ledger = try town()
        let program = try ledger.createdProgram(budget: 100_000, perResidentCap: 3_000)
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 2_000)])
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 1_001), .perResidentCapExceeded)
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 1_000)])
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 1), .perResidentCapExceeded)
        // The cap counts grants received, not the balance: spending does not reset it.
        try ledger.commitAll([ledger.pay(from: alice, to: store.publicKey, 3_000)])
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 1), .perResidentCapExceeded)
        // Other residents and other programs are separate.
        try ledger.commitAll([ledger.grant(program, to: bob.publicKey, 3_000)])
        let other = try ledger.createdProgram(perResidentCap: 3_000)
        try ledger.commitAll([ledger.grant(other, to: alice.publicKey, 3_000)])
        // The budget is checked before the per-resident cap.
        let small = try ledger.createdProgram(budget: 100, perResidentCap: 50)
        try ledger.expectRejected(ledger.grant(small, to: alice.publicKey, 101), .programBudgetExhausted)
        try ledger.expectInvariants()
    }

    @Test("ledger.holder_cap_exceeded: a grant may fill the point or thanks balance to the cap exactly")
    func grantHolderCap() throws {
        let ledger = try town()
        let points = try ledger.createdProgram(budget: 1_000_000, perResidentCap: 1_000_000)
        let thanks = try ledger.createdProgram(.thanks, budget: 1_000_000, expiry: Fixture.threeMonths, perResidentCap: 1_000_000)
        try ledger.commitAll([ledger.grant(points, to: alice.publicKey, 99_000), ledger.grant(thanks, to: alice.publicKey, 9_000)])
        try ledger.expectRejected(ledger.grant(points, to: alice.publicKey, 1_001), .holderCapExceeded)
        try ledger.expectRejected(ledger.grant(thanks, to: alice.publicKey, 1_001), .holderCapExceeded)
        try ledger.commitAll([ledger.grant(points, to: alice.publicKey, 1_000), ledger.grant(thanks, to: alice.publicKey, 1_000)])
        #expect(try ledger.point(alice) == 100_000 && ledger.thanks(alice) == 10_000)
        try ledger.expectRejected(ledger.grant(points, to: alice.publicKey, 1), .holderCapExceeded)
        try ledger.expectRejected(ledger.grant(thanks, to: alice.publicKey, 1), .holderCapExceeded)
        // The coin balance is separate: paid and free value never mix.
        try ledger.commitAll([ledger.charge(alice.publicKey, 100_000)])
        #expect(try ledger.coin(alice) == 100_000)
        try ledger.expectInvariants()
    }

    @Test("ledger.too_many_lots: an account holds at most 256 separate lots of an asset")
    func tooManyLots() throws {
        let ledger = try town()
        let count = LotList.lotsMax + 1
        let first = try ledger.nextProgramId()
        try ledger.commitAll((0..<count).map { _ in ledger.createProgram(budget: 10, perResidentCap: 10) })
        try ledger.commitAll((0..<LotList.lotsMax).map { ledger.grant(first + UInt64($0), to: alice.publicKey, 1) })
        #expect(try ledger.lots(alice.publicKey).count == LotList.lotsMax)
        try ledger.expectRejected(ledger.grant(first + UInt64(LotList.lotsMax), to: alice.publicKey, 1), .tooManyLots)
        // A grant that merges into an existing lot is still fine.
        try ledger.commitAll([ledger.grant(first, to: alice.publicKey, 1)])
        // A charge whose bonus lot would be the 257th is refused as a whole.
        try ledger.expectRejected(ledger.charge(alice.publicKey, 1_000), .tooManyLots)
        try ledger.expectInvariants()
    }

    // MARK: - charge bonus

    @Test("charge bonus: amount × channel rate / 10000, rounded down, as a lot of program 0 funded by the coin issuer")
    func chargeBonus() throws {
        let ledger = try town()
        let chargedAt = Fixture.time("2026-04-10T12:00:00+09:00")
        try ledger.commitAll([
            ledger.charge(alice.publicKey, 10_000, channel: .app),
            ledger.charge(bob.publicKey, 10_000, channel: .chargeMachine),
            ledger.charge(carol.publicKey, 1_299, channel: .chargeMachine),
        ], at: chargedAt)
        #expect(try ledger.point(alice) == 100)
        #expect(try ledger.point(bob) == 150)
        #expect(try ledger.point(carol) == 19, "1,299 × 1.5% = 19.485 → 19")
        #expect(try ledger.lots(bob.publicKey) == [Lot(program: Ledger.chargeBonusProgram, funder: Fixture.coinIssuerKey.publicKey, amount: 150, grantedAt: chargedAt, expiresAt: Fixture.monthStart(2026, 11))])
        let bonus = try #require(try ledger.program(Ledger.chargeBonusProgram))
        #expect(bonus.granted == 269)
        #expect(try ledger.supply(.point).minted == 269)
        #expect(try ledger.supply(.coin).minted == 21_299)
        // Below ¥100 on the app, the bonus rounds to 0: no lot at all.
        try ledger.commitAll([ledger.charge(carol.publicKey, 99, channel: .app)])
        #expect(try ledger.point(carol) == 19)
        #expect(try ledger.lots(carol.publicKey).count == 1)
        try ledger.expectInvariants()
    }

    @Test("charge bonus: trimmed (never refused) to the point holder cap; none once the cap is reached")
    func chargeBonusTrimmedToCap() throws {
        let ledger = try town()
        let program = try ledger.createdProgram(budget: 1_000_000, perResidentCap: 1_000_000)
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 99_950), ledger.grant(program, to: bob.publicKey, 100_000)])
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000, channel: .chargeMachine), ledger.charge(bob.publicKey, 10_000, channel: .chargeMachine)])
        #expect(try ledger.point(alice) == 100_000, "150 trimmed to 50")
        #expect(try ledger.coin(alice) == 10_000)
        #expect(try ledger.point(bob) == 100_000)
        #expect(try ledger.coin(bob) == 10_000, "the charge itself is accepted without a bonus")
        #expect(try ledger.program(Ledger.chargeBonusProgram)?.granted == 50)
        #expect(try ledger.amount(StateKey.programResident(Ledger.chargeBonusProgram, bob.publicKey)) == 0)
        try ledger.expectInvariants()
    }
}
