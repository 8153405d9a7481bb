import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// The last rules of issue 18 (ADR 0021, docs/ledger-rules.md "Tiered rebates" and
/// "Governance"): tiered rebates by a resident's monthly spend, charge channels and category
/// redemption fees by amendment — acceptance with figures by hand, every refusal code, the
/// invariants after every block, and replay equality.
@Suite("Policy rules")
struct PolicyRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let shop = Fixture.account(9)
    let drugstore = Fixture.account(10)
    let cafe = Fixture.account(11)

    /// The default genesis without charge bonuses, so a payment spends only the points the
    /// test gives.
    static var noBonusGenesis: Genesis {
        var coin = Genesis.defaultCoinPolicy
        coin.chargeBonusAppBasisPoints = 0
        coin.chargeBonusMachineBasisPoints = 0
        return Fixture.genesis(coin: coin)
    }

    static let supermarketRebate = RebateRule(rates: [.init(merchantCategory: "supermarket", basisPoints: 100)], monthlyCapPerResidentYen: 10_000)
    static let tiers = [RebateTier(minimumMonthlySpendYen: 10_000, basisPoints: 500), RebateTier(minimumMonthlySpendYen: 30_000, basisPoints: 1_000)]

    /// The keys of a prefix in the committed state.
    static func keys(_ ledger: LedgerHarness, prefix: UInt8) -> [[UInt8]] {
        ledger.store.allEntries(in: .state).map(\.key).filter { $0.first == prefix }
    }

    @Test("tiered rebates: 5% from ¥10,000 of coins paid in the month, 10% from ¥30,000, nothing below; the month resets; removing the tiers restores the category rate; replay gives the same state")
    func tieredRebates() throws {
        let recorder = try Recorder(genesis: Self.noBonusGenesis)
        let ledger = recorder.ledger
        try recorder.commit([ledger.register(alice.publicKey), ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket"),
                             ledger.register(drugstore.publicKey, role: .merchant, merchantCategory: "drugstore")])
        try recorder.commit([ledger.charge(alice.publicKey, 90_000)])
        try recorder.commit([ledger.createProgram(rebate: Self.supermarketRebate)])
        let program = try ledger.nextProgramId() - 1
        // No tiers yet: the category rate (1%), and no monthly spend is kept.
        try recorder.commit([ledger.pay(from: alice, to: shop.publicKey, 1_000)])
        #expect(try ledger.point(alice) == 10)
        #expect(Self.keys(ledger, prefix: StateKey.monthlySpendPrefix).isEmpty && Self.keys(ledger, prefix: StateKey.rebateTiersPrefix).isEmpty)

        try recorder.commit([ledger.sign(Fixture.cityKey, .setRebateTiers(SetRebateTiers(program: program, tiers: Self.tiers)))])
        #expect(try ledger.overlay.rebateTiers() == [SetRebateTiers(program: program, tiers: Self.tiers)])
        // ¥6,000: the 10 points first, ¥5,990 of coins; the month's spend ¥5,990 reaches no tier.
        try recorder.commit([ledger.pay(from: alice, to: shop.publicKey, 6_000)])
        #expect(try ledger.point(alice) == 0)
        // ¥5,000 of coins: ¥10,990 in the month, 5% = 250.
        try recorder.commit([ledger.pay(from: alice, to: shop.publicKey, 5_000)])
        #expect(try ledger.point(alice) == 250)
        // At a drugstore (not in the rule): the 250 points and ¥1,750 of coins; the spend counts
        // (¥12,740), no rebate.
        try recorder.commit([ledger.pay(from: alice, to: drugstore.publicKey, 2_000)])
        #expect(try ledger.point(alice) == 0)
        // ¥17,260 of coins: ¥30,000 in the month, 10% = 1,726.
        try recorder.commit([ledger.pay(from: alice, to: shop.publicKey, 17_260)])
        #expect(try ledger.point(alice) == 1_726)
        let april = CivilTime.japanYearMonth(milliseconds: ledger.timestamp)
        #expect(try ledger.amount(StateKey.monthlySpend(alice.publicKey, april)) == 5_990 + 5_000 + 1_750 + 17_260)
        #expect(try ledger.amount(StateKey.rebateMonth(program, alice.publicKey, april)) == 10 + 250 + 1_726)
        #expect(try ledger.coin(alice) == 90_000 - 1_000 - 5_990 - 5_000 - 1_750 - 17_260)

        // May: the spend starts again. ¥2,726 = the 1,726 points + ¥1,000 of coins, below ¥10,000.
        let may = Fixture.monthStart(2026, 5)
        try recorder.commit([ledger.pay(from: alice, to: shop.publicKey, 2_726)], at: may)
        #expect(try ledger.point(alice) == 0)
        #expect(try ledger.amount(StateKey.monthlySpend(alice.publicKey, CivilTime.japanYearMonth(milliseconds: may))) == 1_000)

        // No tiers: the list is gone, the category rate applies, and no spend is kept again.
        try recorder.commit([ledger.sign(Fixture.cityKey, .setRebateTiers(SetRebateTiers(program: program, tiers: [])))])
        #expect(Self.keys(ledger, prefix: StateKey.rebateTiersPrefix).isEmpty)
        try recorder.commit([ledger.pay(from: alice, to: shop.publicKey, 1_000)])
        #expect(try ledger.point(alice) == 10)
        #expect(try ledger.amount(StateKey.monthlySpend(alice.publicKey, CivilTime.japanYearMonth(milliseconds: may))) == 1_000)
        try ledger.expectInvariants()
        try recorder.expectReplayMatches()
    }

    @Test("ledger.invalid_rebate_tiers, ledger.not_authorised, ledger.unknown_program, ledger.program_closed")
    func rebateTierRefusals() throws {
        let ledger = try LedgerHarness(genesis: Self.noBonusGenesis)
        try ledger.setUpResidents([(bob, 0)])
        let rebate = try ledger.createdProgram(rebate: Self.supermarketRebate)
        let plain = try ledger.createdProgram()
        func tiers(_ program: UInt64, _ tiers: [RebateTier], by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
            ledger.sign(signer, .setRebateTiers(SetRebateTiers(program: program, tiers: tiers)))
        }
        try ledger.expectRejected(tiers(plain, Self.tiers), .invalidRebateTiers)
        for bad in [
            [RebateTier(minimumMonthlySpendYen: 0, basisPoints: 0)],
            [RebateTier(minimumMonthlySpendYen: 0, basisPoints: 10_001)],
            [RebateTier(minimumMonthlySpendYen: 5_000, basisPoints: 100), RebateTier(minimumMonthlySpendYen: 5_000, basisPoints: 200)],
            Self.tiers.reversed(),
            (0..<9).map { RebateTier(minimumMonthlySpendYen: UInt64($0) * 1_000, basisPoints: 100) },
        ] as [[RebateTier]] {
            try ledger.expectRejected(tiers(rebate, bad), .invalidRebateTiers)
        }
        try ledger.expectRejected(tiers(rebate, Self.tiers, by: bob), .notAuthorised)
        try ledger.expectRejected(tiers(Ledger.chargeBonusProgram, Self.tiers, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.expectRejected(tiers(99, Self.tiers), .unknownProgram)
        // Eight tiers, a ¥0 tier: accepted.
        try ledger.commitAll([tiers(rebate, (0..<8).map { RebateTier(minimumMonthlySpendYen: UInt64($0) * 1_000, basisPoints: 100 + UInt32($0)) })])
        try ledger.commitAll([ledger.closeProgram(rebate)])
        try ledger.expectRejected(tiers(rebate, Self.tiers), .programClosed)
        try ledger.expectInvariants()
    }

    // MARK: Charge channels by amendment

    static func govern(_ ledger: LedgerHarness, _ proposal: GovernanceProposal, at height: UInt64, approved: Bool = true) -> SignedTransaction {
        let change = GovernanceChange(effectiveHeight: height, proposal: proposal)
        return ledger.sign(Fixture.cityKey, .govern(Govern(change: change, approvals: approved ? [change.approve(chainId: ledger.genesis.chainId, with: Fixture.validatorKey)] : [])))
    }

    static let amendedChannels = [
        ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 200),
        ChargeChannelDefinition(id: 2, name: "charge_machine", bonusBasisPoints: 150),
        ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 300),
    ]

    @Test("charge channels by amendment: a bank-transfer channel and a higher app rate from the effective height, not before; queryable at any height; replay gives the same state")
    func channelsByAmendment() throws {
        let recorder = try Recorder(genesis: Fixture.defaultGenesis)
        let ledger = recorder.ledger
        try recorder.commit([ledger.register(alice.publicKey)])
        let effective = ledger.height + 12
        try recorder.commit([Self.govern(ledger, .chargeChannels(Self.amendedChannels), at: effective)])
        while ledger.height < effective - 2 { try recorder.commit([]) }
        // Block effective − 1: the genesis channels (the defaults) still hold.
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 10_000, channel: 3), .unknownChannel)
        try recorder.commit([ledger.charge(alice.publicKey, 10_000)])
        #expect(try ledger.point(alice) == 100)
        #expect(ledger.height == effective - 1)
        // Block effective: 3% on the bank transfer, 2% on the app.
        try recorder.commit([ledger.chargeExtended(alice.publicKey, 10_000, channel: 3), ledger.charge(alice.publicKey, 10_000)])
        #expect(try ledger.point(alice) == 100 + 300 + 200)
        #expect(try ledger.ledger.inForce(at: effective - 1, store: ledger.store).genesis.effectiveChargeChannels == ChargeChannelDefinition.defaults(coin: Genesis.defaultCoinPolicy))
        #expect(try ledger.ledger.inForce(at: effective, store: ledger.store).genesis.effectiveChargeChannels == Self.amendedChannels)
        #expect(try ledger.ledger.townAmendments(store: ledger.store) == [GovernanceChange(effectiveHeight: effective, proposal: .chargeChannels(Self.amendedChannels))])
        try ledger.expectInvariants()
        try recorder.expectReplayMatches()
    }

    @Test("charge channels by amendment: ledger.governance_invalid_proposal, ledger.governance_change_pending, ledger.governance_no_quorum")
    func channelRefusals() throws {
        let ledger = try LedgerHarness()
        let at = ledger.height + 20
        for channels in [
            Array(Self.amendedChannels.dropFirst()),
            [Self.amendedChannels[0], Self.amendedChannels[1], ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 10_001)],
            [Self.amendedChannels[0], Self.amendedChannels[1], ChargeChannelDefinition(id: 3, name: "Bank", bonusBasisPoints: 100)],
            [],
        ] {
            try ledger.expectRejected(Self.govern(ledger, .chargeChannels(channels), at: at), .governanceInvalidProposal)
        }
        try ledger.expectRejected(Self.govern(ledger, .chargeChannels(Self.amendedChannels), at: at, approved: false), .governanceNoQuorum)
        try ledger.expectRejected(Self.govern(ledger, .chargeChannels(Self.amendedChannels), at: ledger.height + 5), .governanceTooSoon)
        try ledger.commitAll([Self.govern(ledger, .chargeChannels(Self.amendedChannels), at: at)])
        try ledger.expectRejected(Self.govern(ledger, .chargeChannels(Array(Self.amendedChannels.prefix(2))), at: at + 5), .governanceChangePending)
    }

    // MARK: Category fees by amendment

    @Test("category fees by amendment: restaurants' coin fee subsidised to 0 and point fee to 0.5% from the effective height; other categories keep 1.5%; queryable; replay gives the same state")
    func categoryFees() throws {
        let recorder = try Recorder(genesis: Self.noBonusGenesis)
        let ledger = recorder.ledger
        try recorder.commit([ledger.register(alice.publicKey), ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket"),
                             ledger.register(cafe.publicKey, role: .merchant, merchantCategory: "restaurant")])
        try recorder.commit([ledger.charge(alice.publicKey, 50_000), ledger.createProgram(perResidentCap: 10_000)])
        let program = try ledger.nextProgramId() - 1
        try recorder.commit([ledger.grant(program, to: alice.publicKey, 2_000)])
        let effective = ledger.height + 12
        let restaurantCoin = GovernanceProposal.categoryFees(asset: .coin, fees: [CategoryFee(merchantCategory: "restaurant", basisPoints: 0)])
        let restaurantPoint = GovernanceProposal.categoryFees(asset: .point, fees: [CategoryFee(merchantCategory: "restaurant", basisPoints: 50)])
        // Two amendments of different subjects (coin fees, point fees) in one block.
        try recorder.commit([Self.govern(ledger, restaurantCoin, at: effective), Self.govern(ledger, restaurantPoint, at: effective)])
        // Before: ¥3,000 at the café = 2,000 points + ¥1,000 of coins; fees 1.5% of each.
        try recorder.commit([ledger.pay(from: alice, to: cafe.publicKey, 3_000)])
        try recorder.commit([ledger.redeem(cafe)])
        #expect(try ledger.settlement(cafe.publicKey, 0)?.lines.map(\.fee) == [15, 30])
        while ledger.height < effective - 2 { try recorder.commit([]) }
        try recorder.commit([ledger.grant(program, to: alice.publicKey, 2_000), ledger.pay(from: alice, to: cafe.publicKey, 3_000)])
        #expect(ledger.height == effective - 1)
        // At the effective height: the café's coins free, its points 0.5%; the supermarket 1.5%.
        try recorder.commit([ledger.redeem(cafe), ledger.pay(from: alice, to: shop.publicKey, 3_000)])
        try recorder.commit([ledger.redeem(shop)])
        #expect(try ledger.settlement(cafe.publicKey, 1)?.lines.map(\.fee) == [0, 10])
        #expect(try ledger.settlement(shop.publicKey, 0)?.lines.map(\.fee) == [45])
        let before = try ledger.ledger.inForce(at: effective - 1, store: ledger.store).genesis
        let after = try ledger.ledger.inForce(at: effective, store: ledger.store).genesis
        #expect(before.categoryFees.isEmpty && before.redemptionFeeBasisPoints(.coin, category: "restaurant") == 150)
        #expect(after.redemptionFeeBasisPoints(.coin, category: "restaurant") == 0 && after.redemptionFeeBasisPoints(.point, category: "restaurant") == 50)
        #expect(after.redemptionFeeBasisPoints(.coin, category: "supermarket") == 150 && after.redemptionFeeBasisPoints(.coin, category: nil) == 150)
        try ledger.expectInvariants()
        try recorder.expectReplayMatches()
    }

    @Test("category fees by amendment: ledger.governance_invalid_proposal (thanks, unsorted, over 100%, empty category), ledger.governance_change_pending per asset")
    func categoryFeeRefusals() throws {
        let ledger = try LedgerHarness()
        let at = ledger.height + 20
        let fee = { (category: String, rate: UInt32) in CategoryFee(merchantCategory: category, basisPoints: rate) }
        for proposal in [
            GovernanceProposal.categoryFees(asset: .thanks, fees: [fee("restaurant", 0)]),
            .categoryFees(asset: .coin, fees: [fee("restaurant", 0), fee("cafe", 0)]),
            .categoryFees(asset: .coin, fees: [fee("restaurant", 0), fee("restaurant", 10)]),
            .categoryFees(asset: .coin, fees: [fee("restaurant", 10_001)]),
            .categoryFees(asset: .coin, fees: [fee("", 0)]),
        ] {
            try ledger.expectRejected(Self.govern(ledger, proposal, at: at), .governanceInvalidProposal)
        }
        try ledger.commitAll([Self.govern(ledger, .categoryFees(asset: .coin, fees: [fee("restaurant", 0)]), at: at)])
        try ledger.expectRejected(Self.govern(ledger, .categoryFees(asset: .coin, fees: []), at: at + 1), .governanceChangePending)
        // Another asset's fees, or the channels, are other subjects.
        try ledger.commitAll([Self.govern(ledger, .categoryFees(asset: .point, fees: []), at: at), Self.govern(ledger, .chargeChannels(Self.amendedChannels), at: at)])
    }
}

/// A harness that keeps every committed block (its transactions and time) so a fresh ledger
/// can replay them.
final class Recorder {
    let ledger: LedgerHarness
    private var blocks: [(transactions: [SignedTransaction], time: UInt64)] = []

    init(genesis: Genesis) throws { ledger = try LedgerHarness(genesis: genesis) }

    func commit(_ transactions: [SignedTransaction], at time: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try ledger.commitAll(transactions, at: time, sourceLocation: sourceLocation)
        blocks.append((transactions, ledger.timestamp))
    }

    /// Replays every block on a fresh ledger: the same root after each, the same state at the end.
    func expectReplayMatches(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let replay = try LedgerHarness(genesis: ledger.genesis)
        for block in blocks { try replay.block(block.transactions, at: block.time, mode: .validate) }
        #expect(replay.stateRoot == ledger.stateRoot, sourceLocation: sourceLocation)
        #expect(snapshot(replay.store, [.state, .stateTree]) == snapshot(ledger.store, [.state, .stateTree]), sourceLocation: sourceLocation)
    }
}
