import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// Issue 18, must-be-true 2: a town's year on one chain — a store campaign on set dates, a
/// premium sale with a cap, a participation platform granting through its delegate until its
/// budget is exhausted and then revoked, a limit raised by amendment at a future height, taxes
/// paid to the city, a standing order with one instalment refused over its cap — with the supply, programs, settlements and unused-balance
/// reports computed by hand below (docs/ledger-rules.md; default policies: 1% app, 1.5% charge
/// machine, 3% bank transfer bonus; 1.5% redemption fee; point lots expire at the end of the
/// sixth month after the grant).
@Suite("Town's year scenario")
struct TownYearScenarioTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let store = Fixture.account(9)
    let competitor = Fixture.account(10)
    let taxOffice = Fixture.account(20)
    let club = Fixture.account(21)
    let platform = Fixture.account(30)

    func at(_ text: String) -> UInt64 { Fixture.time("2026-\(text):00+09:00") }

    @Test("a town's year: campaign, premium sale, platform, amendment, taxes, standing order — every report by hand")
    func townsYear() throws {
        let ledger = try LedgerHarness(genesis: Fixture.townGenesis(residentIdRequired: true, channels: Fixture.bankTransferChannels))
        let issuer = Fixture.coinIssuerKey.publicKey
        // April: one resident, one account (the genesis requires the ID hash).
        try ledger.expectRejected(ledger.register(alice.publicKey), .residentIdRequired, at: at("04-02T09:00"))
        try ledger.commitAll([alice, bob, carol].enumerated().map { ledger.register($1.publicKey, residentIdHash: Hash.sha256([UInt8($0), 0x18])) } + [
            ledger.register(store.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(competitor.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(taxOffice.publicKey, role: .organisation, merchantCategory: OrganisationKind.publicBody),
            ledger.register(club.publicKey, role: .organisation, merchantCategory: OrganisationKind.club),
        ], at: at("04-02T10:00"))
        // Charges: Alice ¥30,000 in the app (+300 points), Bob ¥20,000 by bank transfer
        // (+600), Carol ¥10,000 at a charge machine (+150).
        try ledger.commitAll([
            ledger.charge(alice.publicKey, 30_000), ledger.chargeExtended(bob.publicKey, 20_000, channel: 3), ledger.charge(carol.publicKey, 10_000, channel: .chargeMachine),
        ], at: at("04-03T10:00"))
        #expect(try [alice, bob, carol].map { try ledger.point($0) } == [300, 600, 150])

        // The supermarket's own 10% campaign, 1–7 May, at its own store only, funded by it.
        let campaign = try ledger.createdProgram(name: "store 10%", funder: store.publicKey, budget: 5_000, perResidentCap: 3_000,
                                                 rebate: RebateRule(rates: [.init(merchantCategory: "supermarket", basisPoints: 1_000)], monthlyCapPerResidentYen: 1_000),
                                                 by: Fixture.coinIssuerKey, at: at("04-05T10:00"))
        try ledger.commitAll([ledger.setProgramTerms(campaign, startsAt: at("05-01T00:00"), endsAt: at("05-08T00:00"), merchants: [store.publicKey], by: Fixture.coinIssuerKey)], at: at("04-05T11:00"))
        // 20 April, before the period: Alice pays ¥2,000 with her 300 points and ¥1,700 coins.
        try ledger.commitAll([ledger.pay(from: alice, to: store.publicKey, 2_000)], at: at("04-20T10:00"))
        // 3 May: ¥3,000 at the competitor (no rebate), ¥5,000 at the store (10% = 500 points).
        try ledger.commitAll([ledger.pay(from: alice, to: competitor.publicKey, 3_000), ledger.pay(from: alice, to: store.publicKey, 5_000)], at: at("05-03T10:00"))
        // 9 May, after the period: Bob pays ¥4,000 (600 points, ¥3,400 coins), no rebate.
        try ledger.commitAll([ledger.pay(from: bob, to: store.publicKey, 4_000)], at: at("05-09T10:00"))
        #expect(try ledger.points(alice, from: campaign) == 500 && ledger.point(bob) == 0)

        // The premium sale: ¥300 per ¥1,000, budget ¥6,000, at most ¥3,000 premium a resident,
        // sold in June, usable through 31 December.
        let sale = try ledger.createdProgram(name: "premium 2026", budget: 6_000, expiry: .useBy(year: 2026, month: 12, day: 31), perResidentCap: 3_000, at: at("05-20T10:00"))
        try ledger.commitAll([ledger.setPremium(sale, perUnit: 300), ledger.setProgramTerms(sale, startsAt: at("06-01T00:00"), endsAt: at("07-01T00:00"))], at: at("05-20T11:00"))
        try ledger.expectRejected(ledger.chargeExtended(bob.publicKey, 10_000, premium: sale), .programNotActive, at: at("05-31T10:00"))
        try ledger.commitAll([ledger.chargeExtended(bob.publicKey, 10_000, premium: sale)], at: at("06-05T10:00"))
        try ledger.expectRejected(ledger.chargeExtended(bob.publicKey, 1_000, premium: sale), .perResidentCapExceeded, at: at("06-05T11:00"))
        try ledger.commitAll([ledger.chargeExtended(carol.publicKey, 10_000, channel: 2, premium: sale)], at: at("06-06T10:00"))
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, premium: sale), .programBudgetExhausted, at: at("06-07T10:00"))

        // The participation platform: the city's program, the platform's ¥1,500 share.
        let participation = try ledger.createdProgram(name: "participation", budget: 10_000, perResidentCap: 5_000, at: at("06-10T10:00"))
        try ledger.commitAll([ledger.appointDelegate(participation, platform.publicKey, budget: 1_500, perResidentCap: 1_000, perDayCap: 1_000)], at: at("06-10T11:00"))
        try ledger.commitAll([ledger.grant(participation, to: alice.publicKey, 1_000, by: platform)], at: at("07-01T10:00"))
        try ledger.commitAll([ledger.grant(participation, to: bob.publicKey, 500, by: platform)], at: at("07-02T10:00"))
        try ledger.expectRejected(ledger.grant(participation, to: carol.publicKey, 100, by: platform), .delegateBudgetExhausted, at: at("07-03T10:00"))
        try ledger.commitAll([ledger.revokeDelegate(participation, platform.publicKey)], at: at("07-03T11:00"))
        try ledger.expectRejected(ledger.grant(participation, to: carol.publicKey, 100, by: platform), .delegateInactive, at: at("07-04T10:00"))

        // 利用額上限増加: the consortium raises the coin holder cap from ¥100,000 to ¥150,000 from
        // a stated future height, by a governance change its validators approve (ADR 0018).
        // Bob holds ¥26,600: a ¥80,000 charge is over the old cap in the block before that
        // height and within the new one from it (tried there, not committed, so that the
        // figures below stay as computed).
        var raised = ledger.genesis.coin
        raised.holderCapYen = 150_000
        let amendment = GovernanceChange(effectiveHeight: ledger.height + 12, proposal: .assetPolicy(asset: .coin, policy: raised))
        let approvals = [amendment.approve(chainId: ledger.genesis.chainId, with: Fixture.validatorKey)]
        try ledger.commitAll([ledger.sign(Fixture.cityKey, .govern(Govern(change: amendment, approvals: approvals)))], at: at("07-05T10:00"))
        while ledger.height < amendment.effectiveHeight - 2 { try ledger.commitAll([]) }
        try ledger.expectRejected(ledger.charge(bob.publicKey, 80_000), .holderCapExceeded)
        try ledger.commitAll([])
        let atEffectiveHeight = try ledger.dryRun([ledger.charge(bob.publicKey, 80_000)])
        #expect(atEffectiveHeight.accepted.count == 1 && atEffectiveHeight.rejected.isEmpty, "\(atEffectiveHeight.rejected.map { "\($0.error)" })")
        #expect(try ledger.ledger.inForce(at: amendment.effectiveHeight - 1, store: ledger.store).genesis.coin.holderCapYen == 100_000)
        #expect(try ledger.ledger.inForce(at: amendment.effectiveHeight, store: ledger.store).genesis.coin.holderCapYen == 150_000)

        // July: taxes and fees to the city, a donation to the club.
        try ledger.commitAll([
            ledger.payPublic(from: alice, to: taxOffice.publicKey, 12_000, .tax), ledger.payPublic(from: carol, to: taxOffice.publicKey, 2_000, .fee),
            ledger.payPublic(from: bob, to: club.publicKey, 1_000, .donation),
        ], at: at("07-15T10:00"))
        // The club's monthly fee by standing order: at most ¥1,000 on the 10th, from August.
        let order = ledger.authoriseStandingOrder(from: alice, payee: club.publicKey, cap: 1_000, firstMonth: 202608, day: 10, instalments: 12)
        try ledger.commitAll([order], at: at("07-20T10:00"))
        try ledger.commitAll([ledger.payInstalment(order.id, payer: alice.publicKey, 1_000, by: club)], at: at("08-10T10:00"))
        try ledger.expectRejected(ledger.payInstalment(order.id, payer: alice.publicKey, 1_500, by: club), .instalmentCapExceeded, at: at("09-10T10:00"))
        try ledger.commitAll([ledger.payInstalment(order.id, payer: alice.publicKey, 1_000, by: club)], at: at("09-10T10:00"))

        // Payouts on 20 September, then a block after the base date of 30 September.
        try ledger.commitAll([ledger.redeem(store, reference: "S-0920"), ledger.redeem(competitor, reference: "T-0920"), ledger.redeem(taxOffice, reference: "X-0920")], at: at("09-20T10:00"))
        try ledger.commitAll([], at: at("10-01T00:01"))

        // Balances by hand. Alice: 30,000 − 1,700 − 3,000 − 5,000 − 12,000 − 1,000 − 1,000
        // = 6,300 coins; points 500 (campaign) + 1,000 (platform). Bob: 20,000 − 3,400 +
        // 10,000 − 1,000 = 25,600; points 3,000 premium + 100 bonus + 500 platform. Carol:
        // 10,000 + 10,000 − 2,000 = 18,000; points 150 + 3,000 + 150.
        #expect(try [alice, bob, carol].map { try ledger.coin($0) } == [6_300, 25_600, 18_000])
        #expect(try [alice, bob, carol].map { try ledger.point($0) } == [1_500, 3_600, 3_300])
        #expect(try ledger.account(club.publicKey)?.coin == 3_000)

        // Supply. Coins minted 30,000 + 20,000 + 10,000 + 10,000 + 10,000 = 80,000; redeemed by
        // the store 1,700 + 5,000 + 3,400 = 10,100, the competitor 3,000, the tax office 14,000.
        // Points minted: bonuses 300 + 600 + 150 + 100 + 150 = 1,300, rebate 500, premium 6,000,
        // platform 1,500 = 9,300; redeemed 900 (the store's, from Alice's and Bob's bonuses).
        let supply = try ledger.reports.supply()
        let figures = supply.map { "\($0.asset) \($0.minted) \($0.redeemed) \($0.refunded) \($0.expired) \($0.outstanding)" }
        #expect(figures == ["coin 80000 27100 0 0 52900", "point 9300 900 0 0 8400", "thanks 0 0 0 0 0"])

        // Programs.
        func program(_ id: UInt64) throws -> LedgerReports.Program { try #require(try ledger.reports.program(id)) }
        let bonus = try program(Ledger.chargeBonusProgram)
        #expect(bonus.granted == 1_300 && bonus.used == 900 && bonus.outstanding == 400)
        let campaignReport = try program(campaign)
        #expect(campaignReport.granted == 500 && campaignReport.used == 0 && campaignReport.remaining == 4_500 && campaignReport.merchants == [store.publicKey.address.description])
        let saleReport = try program(sale)
        #expect(saleReport.granted == 6_000 && saleReport.remaining == 0 && saleReport.outstanding == 6_000)
        let participationReport = try program(participation)
        #expect(participationReport.granted == 1_500 && participationReport.remaining == 8_500)
        #expect(participationReport.delegates.map { [$0.granted, $0.remaining] } == [[1_500, 0]] && participationReport.delegates.first?.revokedAt == at("07-03T11:00"))
        #expect(try ledger.reports.premiums().map { [$0.charges, $0.paidYen, $0.premiumYen] } == [[2, 20_000, 6_000]])

        // Settlements (fee 1.5%, rounded down): the store's coins 10,100 − 151 and points 900
        // (owed by the coin issuer, who funds the charge bonus) − 13; the competitor 3,000 − 45;
        // the tax office 14,000 − 210.
        let storeStatement = try #require(try ledger.reports.settlements(merchant: store.publicKey))
        #expect(storeStatement.totalsByFunder.map { [$0.asset, $0.funder, "\($0.gross)", "\($0.fee)", "\($0.net)"] } == [
            ["coin", issuer.address.description, "10100", "151", "9949"], ["point", issuer.address.description, "900", "13", "887"],
        ])
        #expect(try ledger.reports.settlements(merchant: competitor.publicKey)?.totalsByFunder.map(\.net) == [2_955])
        #expect(try ledger.reports.settlements(merchant: taxOffice.publicKey)?.totalsByFunder.map(\.net) == [13_790])

        // Collections: the city's July taxes and fees, the club's donation and two instalments.
        let collections = try ledger.reports.collections()
        func collected(_ key: PrivateKey, _ month: String, _ purpose: String) -> UInt64? {
            collections.first { $0.organisation == key.publicKey.address.description && $0.month == month && $0.purpose == purpose }?.amountYen
        }
        #expect(collections.count == 5)
        #expect(collected(taxOffice, "2026-07", "tax") == 12_000 && collected(taxOffice, "2026-07", "fee") == 2_000)
        #expect(collected(club, "2026-07", "donation") == 1_000 && collected(club, "2026-08", "fee") == 1_000 && collected(club, "2026-09", "fee") == 1_000)
        let standing = try ledger.reports.standingOrders(payer: alice.publicKey)
        #expect(standing.map { [$0.paid, UInt32($0.paidYen)] } == [[2, 2_000]] && standing.first?.nextDueAt == at("10-10T00:00"))

        // The unused balance on 30 September: coins only — 80,000 − 27,100 = 52,900 (Alice
        // 6,300 + Bob 25,600 + Carol 18,000 + the club 3,000) — never the 6,000 of premium;
        // no deposit (under ¥10,000,000); the refund limit 5% = 2,645.
        let report = try #require(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 30))
        #expect(describe(report) == describe(baseDate: "2026-09-30", closed: true, outstanding: 52_900, deposit: 0, refundLimit: 2_645))
        try ledger.expectInvariants()
    }

    /// The town's autumn (ADR 0021): a frequent-payer campaign with tiers by monthly spend, and
    /// a bank-transfer channel and a restaurant fee subsidy added by the consortium at a future
    /// height — with the figures by hand (1% app bonus, 1.5% fee, no genesis channel list).
    @Test("a tiered rebate month, a channel and a restaurant fee subsidy added by amendment — every figure by hand")
    func tieredMonthAndAmendments() throws {
        let ledger = try LedgerHarness()
        let cafe = competitor
        try ledger.commitAll([ledger.register(alice.publicKey), ledger.register(bob.publicKey), ledger.register(store.publicKey, role: .merchant, merchantCategory: "supermarket"),
                              ledger.register(cafe.publicKey, role: .merchant, merchantCategory: "restaurant")], at: at("10-01T09:00"))
        // Alice charges ¥50,000 (+500 points), Bob ¥20,000 (+200) in the app.
        try ledger.commitAll([ledger.charge(alice.publicKey, 50_000), ledger.charge(bob.publicKey, 20_000)], at: at("10-01T10:00"))
        // The city's frequent-payer campaign: supermarkets and restaurants, 3% from ¥10,000 of
        // coins paid in the month, 5% from ¥30,000, nothing below; at most ¥3,000 a month.
        let frequent = try ledger.createdProgram(name: "frequent payer", budget: 10_000, perResidentCap: 5_000,
                                                 rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 100), .init(merchantCategory: "supermarket", basisPoints: 100)],
                                                                    monthlyCapPerResidentYen: 3_000), at: at("10-01T11:00"))
        try ledger.commitAll([ledger.sign(Fixture.cityKey, .setRebateTiers(SetRebateTiers(program: frequent, tiers: [
            RebateTier(minimumMonthlySpendYen: 10_000, basisPoints: 300), RebateTier(minimumMonthlySpendYen: 30_000, basisPoints: 500),
        ])))], at: at("10-01T12:00"))
        // October. Alice: ¥8,500 at the store = 500 points + ¥8,000 (spend 8,000: nothing);
        // ¥4,000 at the café (spend 12,000: 3% = 120); ¥20,000 at the store = 120 points +
        // ¥19,880 (spend 31,880: 5% = 994). Bob: ¥5,000 at the store = 200 points + ¥4,800.
        try ledger.commitAll([ledger.pay(from: alice, to: store.publicKey, 8_500)], at: at("10-05T10:00"))
        try ledger.commitAll([ledger.pay(from: alice, to: cafe.publicKey, 4_000)], at: at("10-12T10:00"))
        #expect(try ledger.point(alice) == 120)
        try ledger.commitAll([ledger.pay(from: alice, to: store.publicKey, 20_000), ledger.pay(from: bob, to: store.publicKey, 5_000)], at: at("10-20T10:00"))
        #expect(try ledger.point(alice) == 994 && ledger.point(bob) == 0)

        // The consortium adds a 3% bank-transfer channel and waives restaurants' coin fee, both
        // from a stated future height.
        let effective = ledger.height + 12
        let channels = Fixture.bankTransferChannels
        let subsidy = GovernanceProposal.categoryFees(asset: .coin, fees: [CategoryFee(merchantCategory: "restaurant", basisPoints: 0)])
        try ledger.commitAll([.chargeChannels(channels), subsidy].map { proposal in
            let change = GovernanceChange(effectiveHeight: effective, proposal: proposal)
            return ledger.sign(Fixture.cityKey, .govern(Govern(change: change, approvals: [change.approve(chainId: ledger.genesis.chainId, with: Fixture.validatorKey)])))
        }, at: at("10-25T10:00"))
        while ledger.height < effective - 2 { try ledger.commitAll([]) }
        try ledger.expectRejected(ledger.chargeExtended(bob.publicKey, 10_000, channel: 3), .unknownChannel)
        try ledger.commitAll([])
        #expect(ledger.height == effective - 1)
        // From the effective height: Bob's ¥10,000 by bank transfer earns 300; the café's coins
        // redeem free; the store pays 1.5%.
        try ledger.commitAll([ledger.chargeExtended(bob.publicKey, 10_000, channel: 3), ledger.redeem(cafe, reference: "C-1031"), ledger.redeem(store, reference: "S-1031")])

        // Balances: Alice 50,000 − 8,000 − 4,000 − 19,880 = 18,120 coins, 994 points; Bob
        // 20,000 − 4,800 + 10,000 = 25,200 coins, 300 points.
        #expect(try [alice, bob].map { try ledger.coin($0) } == [18_120, 25_200])
        #expect(try [alice, bob].map { try ledger.point($0) } == [994, 300])
        // Supply: coins minted 80,000, redeemed 32,680 (store) + 4,000 (café); points minted
        // 500 + 200 + 300 (bonuses) + 120 + 994 (campaign) = 2,114, redeemed 820 (the store's).
        let figures = try ledger.reports.supply().map { "\($0.asset) \($0.minted) \($0.redeemed) \($0.outstanding)" }
        #expect(figures == ["coin 80000 36680 43320", "point 2114 820 1294", "thanks 0 0 0"])
        let campaignReport = try #require(try ledger.reports.program(frequent))
        #expect(campaignReport.granted == 1_114 && campaignReport.used == 120 && campaignReport.remaining == 8_886)
        // Settlements: the café ¥4,000 − 0; the store coins 32,680 − 490, points owed by the coin
        // issuer 700 − 10 and by the city (the campaign) 120 − 1.
        #expect(try ledger.reports.settlements(merchant: cafe.publicKey)?.totalsByFunder.map { [$0.gross, $0.fee] } == [[4_000, 0]])
        let storeTotals = try #require(try ledger.reports.settlements(merchant: store.publicKey)).totalsByFunder
        #expect(storeTotals.map { [$0.gross, $0.fee] }.sorted { $0[0] > $1[0] } == [[32_680, 490], [700, 10], [120, 1]])
        try ledger.expectInvariants()
    }
}
