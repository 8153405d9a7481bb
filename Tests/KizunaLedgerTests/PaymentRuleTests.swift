import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// pay (points first, soonest-expiring lot first, then coins; rebates on the coin part),
/// thank and redeem (docs/ledger-rules.md).
@Suite("Payment rules")
struct PaymentRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let shop = Fixture.account(9)
    let restaurant = Fixture.account(10)
    let bakery = Fixture.account(11)
    let stranger = Fixture.account(20)

    static let restaurant10 = RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 500)

    /// A genesis without charge bonuses, so that coin amounts in rebate tests are exact.
    static func noBonusGenesis() -> Genesis {
        var policy = Genesis.defaultCoinPolicy
        policy.chargeBonusAppBasisPoints = 0
        policy.chargeBonusMachineBasisPoints = 0
        return Fixture.genesis(coin: policy)
    }

    func town(genesis: Genesis = Fixture.defaultGenesis) throws -> LedgerHarness {
        let ledger = try LedgerHarness(genesis: genesis)
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0)])
        try ledger.commitAll([
            ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(restaurant.publicKey, role: .merchant, merchantCategory: "restaurant"),
            ledger.register(bakery.publicKey, role: .merchant, merchantCategory: "bakery"),
        ])
        return ledger
    }

    // MARK: - pay

    @Test("pay: points first, soonest-expiring lot first across programs and funders, then coins")
    func paySpendsSoonestExpiringFirst() throws {
        let ledger = try town()
        let subsidy = try ledger.createdProgram(name: "subsidy", expiry: Fixture.sixMonths)
        let campaign = try ledger.createdProgram(name: "bakery campaign", funder: bakery.publicKey, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), by: Fixture.coinIssuerKey)
        let forever = try ledger.createdProgram(name: "forever", expiry: Fixture.never)
        let aprilTenth = Fixture.time("2026-04-10T12:00:00+09:00")
        try ledger.commitAll([
            ledger.charge(alice.publicKey, 10_000, channel: .app),
            ledger.grant(subsidy, to: alice.publicKey, 1_000),
            ledger.grant(forever, to: alice.publicKey, 300),
            ledger.grant(campaign, to: alice.publicKey, 500, by: Fixture.coinIssuerKey),
        ], at: aprilTenth)
        // Sorted by expiry, then program: campaign (1 June), bonus (program 0, 1 November),
        // subsidy (1 November), forever (never).
        #expect(try ledger.lots(alice.publicKey).map(\.program) == [campaign, Ledger.chargeBonusProgram, subsidy, forever])
        #expect(try ledger.lots(alice.publicKey).map(\.amount) == [500, 100, 1_000, 300])
        #expect(try ledger.point(alice) == 1_900)

        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 1_200)], at: aprilTenth + 60_000)
        #expect(try ledger.lots(alice.publicKey).map(\.program) == [subsidy, forever])
        #expect(try ledger.lots(alice.publicKey).map(\.amount) == [400, 300])
        #expect(try ledger.point(alice) == 700)
        #expect(try ledger.coin(alice) == 10_000, "a payment fully covered by points leaves the coins")
        #expect(try ledger.account(alice.publicKey)?.coinChangedAt == aprilTenth, "…and their expiry clock")
        let shopAccount = try #require(try ledger.account(shop.publicKey))
        #expect(shopAccount.point == 1_200 && shopAccount.coin == 0)
        #expect(try ledger.receivable(shop.publicKey, bakery.publicKey) == 500)
        #expect(try ledger.receivable(shop.publicKey, Fixture.coinIssuerKey.publicKey) == 100)
        #expect(try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey) == 600)
        #expect(try ledger.program(campaign)?.used == 500)
        #expect(try ledger.program(Ledger.chargeBonusProgram)?.used == 100)
        #expect(try ledger.program(subsidy)?.used == 600)

        // The rest of the points, then coins.
        let paidAt = aprilTenth + 120_000
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 2_000)], at: paidAt)
        #expect(try ledger.point(alice) == 0 && ledger.lots(alice.publicKey).isEmpty)
        #expect(try ledger.coin(alice) == 8_700)
        #expect(try ledger.account(alice.publicKey)?.coinChangedAt == paidAt)
        #expect(try ledger.account(shop.publicKey)?.coin == 1_300)
        #expect(try ledger.account(shop.publicKey)?.point == 1_900)
        #expect(try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey) == 1_300, "subsidy and forever are both city-funded")
        #expect(try ledger.program(forever)?.used == 300)
        // No lot left means no expiry index entry left.
        #expect(ledger.store.allEntries(in: .state).filter { $0.key.first == StateKey.lotExpiryPrefix }.isEmpty)
        #expect(try ledger.supply(.point).minted == 1_900 && ledger.supply(.point).outstanding == 1_900)
        try ledger.expectInvariants()
    }

    @Test("pay refusals: invalid_amount, self_transfer, wrong_role, unknown_account, frozen, insufficient_balance")
    func payRefusals() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.charge(alice.publicKey, 1_000, channel: .app)])
        #expect(try ledger.point(alice) == 10)
        try ledger.expectRejected(ledger.pay(from: alice, to: shop.publicKey, 0), .invalidAmount)
        try ledger.expectRejected(ledger.pay(from: alice, to: alice.publicKey, 100), .selfTransfer)
        try ledger.expectRejected(ledger.pay(from: shop, to: restaurant.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.pay(from: Fixture.cityKey, to: shop.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.pay(from: alice, to: bob.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.pay(from: alice, to: Fixture.cityKey.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.pay(from: alice, to: stranger.publicKey, 100), .unknownAccount)
        // Points and coins together: 1,010 is exactly enough, 1,011 is not.
        try ledger.expectRejected(ledger.pay(from: alice, to: shop.publicKey, 1_011), .insufficientBalance)
        try ledger.expectRejected(ledger.pay(from: bob, to: shop.publicKey, 1), .insufficientBalance)
        try ledger.commitAll([ledger.freeze(shop.publicKey)])
        try ledger.expectRejected(ledger.pay(from: alice, to: shop.publicKey, 100), .frozen)
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 1_010)])
        #expect(try ledger.coin(alice) == 0 && ledger.point(alice) == 0)
        // A frozen payer cannot sign at all.
        try ledger.commitAll([ledger.charge(bob.publicKey, 1_000), ledger.freeze(bob.publicKey)])
        try ledger.expectRejected(ledger.pay(from: bob, to: restaurant.publicKey, 100), .frozen)
        try ledger.expectInvariants()
    }

    @Test("pay: a lot that expires at the block's time is gone before the payment (the pay uses coins or fails)")
    func lotExpiringInTheSameBlock() throws {
        let ledger = try town()
        let subsidy = try ledger.createdProgram(expiry: Fixture.sixMonths)
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 500), ledger.grant(subsidy, to: bob.publicKey, 500)], at: Fixture.time("2026-04-20T10:00:00+09:00"))
        // Alice's coins are charged in May: her bonus lot expires a month later than the grant.
        try ledger.commitAll([ledger.charge(alice.publicKey, 1_000, channel: .app)], at: Fixture.time("2026-05-02T10:00:00+09:00"))
        let expiresAt = Fixture.monthStart(2026, 11)
        #expect(try ledger.lots(alice.publicKey).map(\.expiresAt) == [expiresAt, Fixture.monthStart(2026, 12)])

        // One millisecond before the expiry the lot pays.
        let before = try ledger.dryRun([ledger.pay(from: alice, to: shop.publicKey, 500)], at: expiresAt - 1)
        #expect(before.rejected.isEmpty)
        // At the expiry instant, without coins, the same payment fails…
        try ledger.expectRejected(ledger.pay(from: bob, to: shop.publicKey, 500), .insufficientBalance, at: expiresAt)
        // …and with coins it uses the 10-point bonus lot, then 490 coins.
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 500)], at: expiresAt)
        #expect(try ledger.point(alice) == 0 && ledger.coin(alice) == 510)
        #expect(try ledger.account(shop.publicKey)?.coin == 490)
        #expect(try ledger.account(shop.publicKey)?.point == 10)
        #expect(try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey) == 0)
        #expect(try ledger.receivable(shop.publicKey, Fixture.coinIssuerKey.publicKey) == 10)
        #expect(try ledger.program(subsidy)?.expired == 1_000)
        #expect(try ledger.program(subsidy)?.used == 0)
        #expect(try ledger.supply(.point).expired == 1_000)
        try ledger.expectInvariants()
    }

    // MARK: - rebates

    @Test("rebate: 10% of the coin part, trimmed to the monthly cap, then zero, restored in the next Japan-time month")
    func rebateMonthlyCap() throws {
        let ledger = try town(genesis: Self.noBonusGenesis())
        let campaign = try ledger.createdProgram(name: "restaurant 10%", funder: restaurant.publicKey, budget: 100_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), perResidentCap: 50_000, rebate: Self.restaurant10)
        try ledger.commitAll([ledger.charge(alice.publicKey, 50_000)], at: Fixture.time("2026-04-10T10:00:00+09:00"))

        let firstPayment = Fixture.time("2026-04-10T12:00:00+09:00")
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 3_000)], at: firstPayment)
        #expect(try ledger.coin(alice) == 47_000)
        #expect(try ledger.lots(alice.publicKey) == [Lot(program: campaign, funder: restaurant.publicKey, amount: 300, grantedAt: firstPayment, expiresAt: Fixture.monthStart(2026, 6))])
        #expect(try ledger.amount(StateKey.rebateMonth(campaign, alice.publicKey, 202604)) == 300)

        // The 300 points pay first; the rebate on the 2,700 coins (270) is trimmed to 200.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 3_000)])
        #expect(try ledger.coin(alice) == 44_300)
        #expect(try ledger.point(alice) == 200)
        #expect(try ledger.amount(StateKey.rebateMonth(campaign, alice.publicKey, 202604)) == 500)

        // Cap reached: 200 points + 800 coins, no rebate at all, no lot.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 1_000)], at: Fixture.time("2026-04-30T23:59:59+09:00"))
        #expect(try ledger.coin(alice) == 43_500)
        #expect(try ledger.point(alice) == 0 && ledger.lots(alice.publicKey).isEmpty)
        #expect(try ledger.program(campaign)?.granted == 500)

        // 00:00 on 1 May in Japan (still 30 April in UTC): a new month, a new cap.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 1_000)], at: Fixture.monthStart(2026, 5))
        #expect(try ledger.point(alice) == 100)
        #expect(try ledger.amount(StateKey.rebateMonth(campaign, alice.publicKey, 202605)) == 100)
        #expect(try ledger.program(campaign)?.granted == 600)
        #expect(try ledger.program(campaign)?.used == 500)
        // Campaign points spent at the funding store itself are still a line of its own.
        #expect(try ledger.receivable(restaurant.publicKey, restaurant.publicKey) == 500)
        try ledger.expectInvariants()
    }

    @Test("rebate: only on the coin part; none on a payment fully covered by points; none for other categories")
    func rebateOnlyOnCoinPart() throws {
        let ledger = try town(genesis: Self.noBonusGenesis())
        let subsidy = try ledger.createdProgram(name: "subsidy")
        let campaign = try ledger.createdProgram(name: "restaurant 10%", funder: restaurant.publicKey, rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 10_000))
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000), ledger.grant(subsidy, to: alice.publicKey, 1_400)])
        // Fully covered by points: no rebate.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 1_000)])
        #expect(try ledger.point(alice) == 400 && ledger.coin(alice) == 10_000)
        #expect(try ledger.program(campaign)?.granted == 0)
        // 400 points + 600 coins: 10% of 600.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 1_000)])
        #expect(try ledger.coin(alice) == 9_400)
        #expect(try ledger.point(alice) == 60)
        #expect(try ledger.program(campaign)?.granted == 60)
        // A supermarket is not in the rule: coins only, no rebate.
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 1_060)])
        #expect(try ledger.point(alice) == 0 && ledger.coin(alice) == 8_400)
        #expect(try ledger.program(campaign)?.granted == 60)
        // Rounding down: 10% of ¥9 is 0.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 9)])
        #expect(try ledger.point(alice) == 0)
        try ledger.expectInvariants()
    }

    @Test("rebate: trimmed to the remaining budget and the per-resident cap, never refused")
    func rebateTrimmedToBudgetAndResidentCap() throws {
        let ledger = try town(genesis: Self.noBonusGenesis())
        let rule = RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 100_000)
        let budgeted = try ledger.createdProgram(name: "small budget", funder: restaurant.publicKey, budget: 150, perResidentCap: 100_000, rebate: rule)
        let capped = try ledger.createdProgram(name: "small cap", funder: restaurant.publicKey, budget: 100_000, perResidentCap: 120, rebate: rule)
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000), ledger.charge(bob.publicKey, 10_000)])
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 3_000)])
        // Both programs rebate: 300 each, trimmed to 150 (budget) and 120 (per-resident cap).
        #expect(try ledger.program(budgeted)?.granted == 150)
        #expect(try ledger.program(capped)?.granted == 120)
        #expect(try ledger.point(alice) == 270)
        // Nothing left of either for alice; bob still gets the cap of the second.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 3_270), ledger.pay(from: bob, to: restaurant.publicKey, 3_000)])
        #expect(try ledger.point(alice) == 0)
        #expect(try ledger.point(bob) == 120)
        #expect(try ledger.program(budgeted)?.remaining == 0)
        try ledger.expectInvariants()
    }

    @Test("rebate: several programs together are trimmed to the point holder cap")
    func rebateTrimmedToHolderCap() throws {
        let ledger = try town(genesis: Self.noBonusGenesis())
        let rule = RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 10_000)], monthlyCapPerResidentYen: 1_000_000)
        let first = try ledger.createdProgram(name: "100% a", funder: restaurant.publicKey, budget: 1_000_000, perResidentCap: 1_000_000, rebate: rule)
        let second = try ledger.createdProgram(name: "100% b", funder: restaurant.publicKey, budget: 1_000_000, perResidentCap: 1_000_000, rebate: rule)
        try ledger.commitAll([ledger.charge(alice.publicKey, 100_000)])
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 60_000)])
        #expect(try ledger.program(first)?.granted == 60_000)
        #expect(try ledger.program(second)?.granted == 40_000)
        #expect(try ledger.point(alice) == 100_000)
        try ledger.expectInvariants()
    }

    // MARK: - thank

    @Test("thank: lots move with their program and expiry, soonest-expiring first, and expire on the recipient")
    func thankMovesLots() throws {
        let ledger = try town()
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", expiry: Fixture.threeMonths, perResidentCap: 10_000)
        let april = Fixture.time("2026-04-10T10:00:00+09:00")
        let may = Fixture.time("2026-05-10T10:00:00+09:00")
        try ledger.commitAll([ledger.grant(thanks, to: alice.publicKey, 1_500)], at: april)
        try ledger.commitAll([ledger.grant(thanks, to: alice.publicKey, 2_000)], at: may)
        try ledger.commitAll([ledger.thank(from: alice, to: bob.publicKey, 1_000)], at: may + 1_000)
        #expect(try ledger.lots(bob.publicKey, .thanks) == [Lot(program: thanks, funder: Fixture.cityKey.publicKey, amount: 1_000, grantedAt: april, expiresAt: Fixture.monthStart(2026, 8))])
        // The next thank spans the rest of the April lot and part of the May lot.
        try ledger.commitAll([ledger.thank(from: alice, to: bob.publicKey, 1_000)], at: may + 2_000)
        #expect(try ledger.lots(bob.publicKey, .thanks).map(\.amount) == [1_000 + 500, 500])
        #expect(try ledger.lots(bob.publicKey, .thanks).map(\.expiresAt) == [Fixture.monthStart(2026, 8), Fixture.monthStart(2026, 9)])
        #expect(try ledger.lots(alice.publicKey, .thanks).map(\.amount) == [1_500])
        #expect(try ledger.thanks(alice) == 1_500 && ledger.thanks(bob) == 2_000)
        #expect(try ledger.amount(StateKey.monthlySent(alice.publicKey, asset: .thanks, yearMonth: 202605)) == 2_000)
        // Moving thanks neither uses nor grants: the program's counters stay.
        #expect(try ledger.program(thanks)?.granted == 3_500 && ledger.program(thanks)?.used == 0)
        #expect(try ledger.amount(StateKey.programResident(thanks, bob.publicKey)) == 0)
        // On 1 August the April-dated part expires on bob's account.
        try ledger.block([], at: Fixture.monthStart(2026, 8))
        #expect(try ledger.thanks(bob) == 500)
        #expect(try ledger.program(thanks)?.expired == 1_500)
        #expect(try ledger.supply(.thanks).expired == 1_500)
        // Thanks never pay a merchant.
        try ledger.expectRejected(ledger.pay(from: bob, to: shop.publicKey, 1), .insufficientBalance)
        try ledger.expectInvariants()
    }

    @Test("thank refusals: self_transfer, invalid_amount, wrong_role, unknown_account, frozen, insufficient_balance")
    func thankRefusals() throws {
        let ledger = try town()
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", expiry: Fixture.threeMonths, perResidentCap: 10_000)
        try ledger.commitAll([ledger.grant(thanks, to: alice.publicKey, 500)])
        try ledger.expectRejected(ledger.thank(from: alice, to: alice.publicKey, 100), .selfTransfer)
        try ledger.expectRejected(ledger.thank(from: alice, to: bob.publicKey, 0), .invalidAmount)
        try ledger.expectRejected(ledger.thank(from: shop, to: bob.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.thank(from: alice, to: shop.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.thank(from: alice, to: Fixture.cityKey.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.thank(from: alice, to: stranger.publicKey, 100), .unknownAccount)
        try ledger.expectRejected(ledger.thank(from: alice, to: bob.publicKey, 501), .insufficientBalance)
        try ledger.commitAll([ledger.freeze(carol.publicKey)])
        try ledger.expectRejected(ledger.thank(from: alice, to: carol.publicKey, 100), .frozen)
        // Coins and points are not thanks.
        try ledger.commitAll([ledger.charge(bob.publicKey, 5_000)])
        try ledger.expectRejected(ledger.thank(from: bob, to: alice.publicKey, 1), .insufficientBalance)
        try ledger.commitAll([ledger.thank(from: alice, to: bob.publicKey, 500)])
    }

    @Test("thank limits: per thank (exactly 1,000 is fine), per Japan-time month (checked before the balance), recipient's cap")
    func thankLimits() throws {
        let ledger = try town()
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", budget: 1_000_000, expiry: Fixture.threeMonths, perResidentCap: 100_000)
        try ledger.commitAll([ledger.grant(thanks, to: alice.publicKey, 10_000)])
        try ledger.expectRejected(ledger.thank(from: alice, to: bob.publicKey, 1_001), .sendLimitExceeded)
        try ledger.commitAll((0..<10).map { ledger.thank(from: alice, to: ($0 < 5 ? bob : carol).publicKey, 1_000) })
        #expect(try ledger.thanks(alice) == 0)
        #expect(try ledger.amount(StateKey.monthlySent(alice.publicKey, asset: .thanks, yearMonth: 202604)) == 10_000)
        try ledger.expectRejected(ledger.thank(from: alice, to: bob.publicKey, 1), .monthlySendLimitExceeded)
        // In May the monthly total starts again; now the balance is what is missing.
        try ledger.expectRejected(ledger.thank(from: alice, to: bob.publicKey, 1), .insufficientBalance, at: Fixture.monthStart(2026, 5))
        // The recipient's thanks cap (10,000) may be reached exactly.
        try ledger.commitAll([ledger.grant(thanks, to: bob.publicKey, 4_500), ledger.grant(thanks, to: carol.publicKey, 1_000)])
        #expect(try ledger.thanks(bob) == 9_500)
        try ledger.expectRejected(ledger.thank(from: carol, to: bob.publicKey, 501), .holderCapExceeded)
        try ledger.commitAll([ledger.thank(from: carol, to: bob.publicKey, 500)])
        #expect(try ledger.thanks(bob) == 10_000)
        try ledger.expectInvariants()
    }

    // MARK: - redeem

    @Test("redeem: a coin line owed by the coin issuer and a point line per funder; fees rounded down; nothing_to_redeem after")
    func redeemSettlement() throws {
        let ledger = try town()
        let subsidy = try ledger.createdProgram(name: "subsidy")
        let campaign = try ledger.createdProgram(name: "bakery campaign", funder: bakery.publicKey, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1))
        try ledger.commitAll([
            ledger.charge(alice.publicKey, 10_000, channel: .app),
            ledger.grant(subsidy, to: alice.publicKey, 1_000),
            ledger.grant(campaign, to: alice.publicKey, 500),
        ])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 1_600), ledger.pay(from: alice, to: shop.publicKey, 2_345)])
        #expect(try ledger.account(shop.publicKey)?.coin == 2_345)
        #expect(try ledger.account(shop.publicKey)?.point == 1_600)

        let redeemedAt = Fixture.time("2026-04-20T17:00:00+09:00")
        try ledger.commitAll([ledger.redeem(shop, reference: "bank-0001")], at: redeemedAt)
        let record = try #require(try ledger.settlement(shop.publicKey, 0))
        #expect(record.merchant == shop.publicKey && record.sequence == 0 && record.timestamp == redeemedAt && record.reference == "bank-0001")
        let pointFunders = [Fixture.coinIssuerKey.publicKey, Fixture.cityKey.publicKey, bakery.publicKey].sorted()
        let gross: [PublicKey: UInt64] = [Fixture.coinIssuerKey.publicKey: 100, Fixture.cityKey.publicKey: 1_000, bakery.publicKey: 500]
        let fee: [PublicKey: UInt64] = [Fixture.coinIssuerKey.publicKey: 1, Fixture.cityKey.publicKey: 15, bakery.publicKey: 7] // 1.5, 15, 7.5 rounded down
        #expect(record.lines == [SettlementRecord.Line(asset: .coin, funder: Fixture.coinIssuerKey.publicKey, gross: 2_345, fee: 35)] // 35.175
            + pointFunders.map { SettlementRecord.Line(asset: .point, funder: $0, gross: gross[$0]!, fee: fee[$0]!) })
        #expect(record.gross == 3_945 && record.fees == 58)
        #expect(record.lines.map(\.net) == [2_310] + pointFunders.map { gross[$0]! - fee[$0]! })
        let shopAccount = try #require(try ledger.account(shop.publicKey))
        #expect(shopAccount.coin == 0 && shopAccount.point == 0)
        #expect(ledger.store.allEntries(in: .state).filter { $0.key.first == StateKey.receivablePrefix }.isEmpty)
        #expect(try ledger.supply(.coin).redeemed == 2_345)
        #expect(try ledger.supply(.point).redeemed == 1_600)
        try ledger.expectRejected(ledger.redeem(shop), .nothingToRedeem)

        // The statement: settlements with their lines and the totals per funder.
        let statement = try #require(try ledger.reports.settlements(merchant: shop.publicKey))
        #expect(statement.settlements.count == 1)
        #expect(statement.settlements[0].reference == "bank-0001")
        #expect(statement.settlements[0].time == "2026-04-20T17:00:00.000+09:00")
        #expect(statement.totalsByFunder.count == 4)
        #expect(statement.totalsByFunder.reduce(0) { $0 + $1.net } == 3_945 - 58)
        #expect(statement.unredeemedCoin == 0 && statement.unredeemedPoint == 0)
        try ledger.expectInvariants()
    }

    @Test("redeem: receivables written in the same block are included; sequences count up; coins-only redemptions")
    func redeemSameBlockAndSequence() throws {
        let ledger = try town(genesis: Self.noBonusGenesis())
        let subsidy = try ledger.createdProgram(name: "subsidy")
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000), ledger.grant(subsidy, to: alice.publicKey, 200)])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 1_000), ledger.redeem(shop, reference: "r1")])
        let first = try #require(try ledger.settlement(shop.publicKey, 0))
        #expect(first.lines == [
            .init(asset: .coin, funder: Fixture.coinIssuerKey.publicKey, gross: 800, fee: 12),
            .init(asset: .point, funder: Fixture.cityKey.publicKey, gross: 200, fee: 3),
        ])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 66), ledger.redeem(shop, reference: "r2")])
        let second = try #require(try ledger.settlement(shop.publicKey, 1))
        #expect(second.lines == [.init(asset: .coin, funder: Fixture.coinIssuerKey.publicKey, gross: 66, fee: 0)], "66 × 1.5% = 0.99 → 0")
        let statement = try #require(try ledger.reports.settlements(merchant: shop.publicKey))
        #expect(statement.settlements.map(\.sequence) == [0, 1])
        #expect(statement.totalsByFunder.first { $0.asset == "coin" }?.gross == 866)
        #expect(statement.totalsByFunder.first { $0.asset == "coin" }?.net == 866 - 12)
        try ledger.expectInvariants()
    }

    @Test("redeem refusals: wrong_role for residents and authorities, nothing_to_redeem for an empty merchant")
    func redeemRefusals() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.charge(alice.publicKey, 1_000)])
        try ledger.expectRejected(ledger.redeem(alice), .wrongRole)
        try ledger.expectRejected(ledger.redeem(Fixture.coinIssuerKey), .wrongRole)
        try ledger.expectRejected(ledger.redeem(shop), .nothingToRedeem)
        try ledger.expectRejected(ledger.redeem(stranger), .unknownAccount)
        #expect(try ledger.reports.settlements(merchant: alice.publicKey) == nil)
    }
}
