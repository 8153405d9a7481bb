import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// refund (statutory limits by base period), freeze / unfreeze and recover
/// (docs/ledger-rules.md).
@Suite("Refund, freeze and recovery rules")
struct RefundRecoveryTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let newAlice = Fixture.account(5)
    let shop = Fixture.account(9)
    let restaurant = Fixture.account(10)
    let newShop = Fixture.account(11)
    let stranger = Fixture.account(20)

    func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0)])
        try ledger.commitAll([
            ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(restaurant.publicKey, role: .merchant, merchantCategory: "restaurant"),
        ])
        return ledger
    }

    func refundLimit(_ ledger: LedgerHarness, at time: UInt64) throws -> UInt64 {
        try ledger.ledger.refundLimit(period: LedgerCalendar.basePeriod(time), overlay: ledger.overlay)
    }

    // MARK: - refund

    @Test("refund limits: non-exempt refunds within max(20% of the previous period's issuance, 5% of the previous base date's unused coins); exempt reasons always")
    func refundLimits() throws {
        let ledger = try town()
        // Period April–September 2026: ¥120,000 issued.
        try ledger.commitAll([
            ledger.charge(alice.publicKey, 50_000, channel: .app),
            ledger.charge(bob.publicKey, 50_000, channel: .app),
            ledger.charge(carol.publicKey, 20_000, channel: .app),
        ], at: Fixture.time("2026-04-10T10:00:00+09:00"))
        // The first period has no previous one: its limit is 0, so only exempt reasons pass.
        #expect(try refundLimit(ledger, at: ledger.timestamp) == 0)
        try ledger.expectRejected(ledger.refund(bob.publicKey, 1, reason: .other), .refundLimitExceeded)
        try ledger.commitAll([ledger.refund(carol.publicKey, 20_000, reason: .movedAway)])
        #expect(try ledger.coin(carol) == 0)
        #expect(try ledger.amount(StateKey.periodRefunded(LedgerCalendar.basePeriod(ledger.timestamp))) == 0, "exempt refunds do not count")
        // Alice spends 500 bonus points and ¥30,000; the shop redeems.
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 30_500), ledger.redeem(shop)])
        #expect(try ledger.supply(.coin).outstanding == 70_000)

        // October: the 30 September snapshot is ¥70,000 unused; the limit is
        // max(120,000 / 5, 70,000 / 20) = max(24,000, 3,500) = ¥24,000.
        let october = Fixture.time("2026-10-01T09:00:00+09:00")
        try ledger.commitAll([ledger.refund(bob.publicKey, 20_000, reason: .other)], at: october)
        #expect(try refundLimit(ledger, at: october) == 24_000)
        try ledger.expectRejected(ledger.refund(alice.publicKey, 4_001, reason: .other), .refundLimitExceeded)
        try ledger.commitAll([ledger.refund(alice.publicKey, 4_000, reason: .other)])
        #expect(try ledger.amount(StateKey.periodRefunded(LedgerCalendar.basePeriod(october))) == 24_000)
        try ledger.expectRejected(ledger.refund(bob.publicKey, 1, reason: .other), .refundLimitExceeded)
        // Exempt reasons are never limited.
        try ledger.commitAll([ledger.refund(bob.publicKey, 1_000, reason: .deceased), ledger.refund(alice.publicKey, 1_000, reason: .serviceTermination)])
        #expect(try ledger.supply(.coin).refunded == 20_000 + 24_000 + 2_000)
        // A November charge: ¥1,000 issued in October–March.
        try ledger.commitAll([ledger.charge(alice.publicKey, 1_000, channel: .app)], at: Fixture.time("2026-11-10T10:00:00+09:00"))
        #expect(try ledger.supply(.coin).outstanding == 70_000 - 24_000 - 2_000 + 1_000)

        // April 2027: 31 March snapshot ¥45,000; limit max(1,000 / 5, 45,000 / 20) = ¥2,250,
        // and the previous period's refunds do not count against it.
        let april = Fixture.time("2027-04-01T00:00:00+09:00")
        try ledger.commitAll([ledger.refund(bob.publicKey, 2_250, reason: .other)], at: april)
        #expect(try refundLimit(ledger, at: april) == 2_250)
        try ledger.expectRejected(ledger.refund(alice.publicKey, 1, reason: .other), .refundLimitExceeded)
        let report = try #require(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31))
        #expect(report.closed && report.outstandingYen == 45_000 && report.refundLimitFromUnusedYen == 2_250)
        try ledger.expectInvariants()
    }

    @Test("ledger.missing_cosignature: an exempt reason (moved away, deceased, service termination) needs the city's co-signature; 'other' does not")
    func exemptRefundNeedsTheCity() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000, channel: .app)])
        for reason in RefundReason.allCases where reason.isExempt {
            try ledger.expectRejected(ledger.refund(alice.publicKey, 100, reason: reason, cosigners: []), .missingCosignature)
            try ledger.expectRejected(ledger.refund(alice.publicKey, 100, reason: reason, cosigners: [Fixture.auditorKey]), .missingCosignature)
            try ledger.expectRejected(ledger.refund(alice.publicKey, 100, reason: reason, cosigners: [Fixture.registrarKey]), .missingCosignature)
        }
        try ledger.commitAll([ledger.refund(alice.publicKey, 100, reason: .movedAway, cosigners: [Fixture.cityKey])])
        // The city's signature does not lift the limit of a non-exempt reason (0 in the first period).
        try ledger.expectRejected(ledger.refund(alice.publicKey, 100, reason: .other, cosigners: [Fixture.cityKey]), .refundLimitExceeded)
        #expect(try ledger.coin(alice) == 9_900)
    }

    @Test("refund refusals: not_authorised, invalid_amount, unknown_account, wrong_role, insufficient_balance (points are not refunded)")
    func refundRefusals() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000, channel: .app)])
        #expect(try ledger.point(alice) == 100)
        for signer in [Fixture.cityKey, Fixture.registrarKey, alice] {
            try ledger.expectRejected(ledger.refund(alice.publicKey, 100, reason: .movedAway, by: signer), .notAuthorised)
        }
        try ledger.expectRejected(ledger.refund(alice.publicKey, 0, reason: .movedAway), .invalidAmount)
        try ledger.expectRejected(ledger.refund(stranger.publicKey, 100, reason: .movedAway), .unknownAccount)
        try ledger.expectRejected(ledger.refund(shop.publicKey, 100, reason: .movedAway), .wrongRole)
        try ledger.expectRejected(ledger.refund(Fixture.cityKey.publicKey, 100, reason: .movedAway), .wrongRole)
        try ledger.expectRejected(ledger.refund(alice.publicKey, 10_001, reason: .movedAway), .insufficientBalance)
        // The whole coin balance, the points stay (and a frozen holder can still be refunded).
        try ledger.commitAll([ledger.freeze(alice.publicKey)])
        let refundedAt = ledger.timestamp + 1_000
        try ledger.commitAll([ledger.refund(alice.publicKey, 10_000, reason: .movedAway)], at: refundedAt)
        #expect(try ledger.coin(alice) == 0 && ledger.point(alice) == 100)
        #expect(try ledger.account(alice.publicKey)?.coinChangedAt == refundedAt)
        #expect(try ledger.supply(.coin).refunded == 10_000)
        #expect(ledger.store.allEntries(in: .state).filter { $0.key.first == StateKey.coinExpiryPrefix }.isEmpty, "no coins, no coin-expiry entry")
        try ledger.expectInvariants()
    }

    // MARK: - freeze / unfreeze

    @Test("freeze / unfreeze: a frozen account signs nothing and receives nothing; unfreeze restores it")
    func freezeAndUnfreeze() throws {
        let ledger = try town()
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", expiry: Fixture.threeMonths, perResidentCap: 10_000)
        let points = try ledger.createdProgram(name: "points")
        try ledger.commitAll([ledger.charge(alice.publicKey, 5_000), ledger.charge(bob.publicKey, 5_000), ledger.grant(thanks, to: bob.publicKey, 100)])
        try ledger.commitAll([ledger.freeze(alice.publicKey)])
        #expect(try ledger.account(alice.publicKey)?.frozen == true)
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.pay(from: alice, to: shop.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.send(from: bob, to: alice.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.charge(alice.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.grant(points, to: alice.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.thank(from: bob, to: alice.publicKey, 1), .frozen)
        // A frozen merchant can neither be paid nor redeem.
        try ledger.commitAll([ledger.pay(from: bob, to: shop.publicKey, 1_000), ledger.freeze(shop.publicKey)])
        try ledger.expectRejected(ledger.pay(from: bob, to: shop.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.redeem(shop), .frozen)
        // Unfreeze: everything works again, balances untouched.
        try ledger.commitAll([ledger.unfreeze(alice.publicKey), ledger.unfreeze(shop.publicKey)])
        #expect(try ledger.account(alice.publicKey)?.frozen == false)
        #expect(try ledger.coin(alice) == 5_000)
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 1), ledger.redeem(shop)])
        try ledger.expectInvariants()
    }

    @Test("freeze / unfreeze refusals: not_authorised, unknown_account, wrong_role, frozen, not_frozen")
    func freezeRefusals() throws {
        let ledger = try town()
        for signer in [Fixture.cityKey, Fixture.coinIssuerKey, bob] {
            try ledger.expectRejected(ledger.freeze(alice.publicKey, by: signer), .notAuthorised)
        }
        try ledger.expectRejected(ledger.freeze(stranger.publicKey), .unknownAccount)
        try ledger.expectRejected(ledger.unfreeze(stranger.publicKey), .unknownAccount)
        try ledger.expectRejected(ledger.freeze(Fixture.cityKey.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.freeze(Fixture.registrarKey.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.unfreeze(alice.publicKey), .notFrozen)
        try ledger.commitAll([ledger.freeze(alice.publicKey)])
        try ledger.expectRejected(ledger.freeze(alice.publicKey), .frozen)
        try ledger.expectRejected(ledger.unfreeze(alice.publicKey, by: Fixture.cityKey), .notAuthorised)
        // A recovered account stays frozen for good.
        try ledger.commitAll([ledger.recover(alice.publicKey, to: newAlice.publicKey)])
        try ledger.expectRejected(ledger.unfreeze(alice.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.freeze(alice.publicKey), .wrongRole)
    }

    // MARK: - recover

    @Test("recover: a frozen resident's coins, lots in several programs, thanks, resident ID and program totals move to the new key")
    func recoverResident() throws {
        let ledger = try LedgerHarness()
        let residentIdHash = TransactionBuilder.residentIdHash(residentId: "KZ-000777", salt: [1, 2, 3])
        try ledger.commitAll([
            ledger.register(alice.publicKey, residentIdHash: residentIdHash, district: "kita", ageBand: 5),
            ledger.register(bob.publicKey),
            ledger.register(restaurant.publicKey, role: .merchant, merchantCategory: "restaurant"),
        ])
        let subsidy = try ledger.createdProgram(name: "subsidy", expiry: Fixture.sixMonths, perResidentCap: 2_500)
        let campaign = try ledger.createdProgram(name: "restaurant 10%", funder: restaurant.publicKey, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1),
                                                 rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 1_000))
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", expiry: Fixture.threeMonths, perResidentCap: 10_000)
        // Alice: 20,000 coins with a 300-point bonus; pays 1,300 (300 points + 1,000 coins,
        // rebate 100); then a subsidy of 2,000 and 700 thanks.
        let paidAt = Fixture.time("2026-04-12T12:00:00+09:00")
        try ledger.commitAll([ledger.charge(alice.publicKey, 20_000, channel: .chargeMachine)], at: paidAt - 60_000)
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 1_300)], at: paidAt)
        try ledger.commitAll([ledger.grant(subsidy, to: alice.publicKey, 2_000), ledger.grant(thanks, to: alice.publicKey, 700)])
        let before = try #require(try ledger.account(alice.publicKey))
        #expect(before.coin == 19_000 && before.point == 2_100 && before.thanks == 700 && before.coinChangedAt == paidAt)
        let pointLots = try ledger.lots(alice.publicKey)
        let thanksLots = try ledger.lots(alice.publicKey, .thanks)
        #expect(pointLots.map(\.program) == [campaign, subsidy])
        let supplies = try Asset.allCases.map { try ledger.supply($0) }

        // The phone is lost: freeze, then recover with the registrar's and the city's signatures.
        try ledger.commitAll([ledger.freeze(alice.publicKey)])
        let recoveredAt = Fixture.time("2026-04-20T10:00:00+09:00")
        try ledger.commitAll([ledger.recover(alice.publicKey, to: newAlice.publicKey)], at: recoveredAt)

        let old = try #require(try ledger.account(alice.publicKey))
        #expect(old.frozen && old.successor == newAlice.publicKey)
        #expect(old.coin == 0 && old.point == 0 && old.thanks == 0)
        #expect(try ledger.lots(alice.publicKey).isEmpty && ledger.lots(alice.publicKey, .thanks).isEmpty)
        let new = try #require(try ledger.account(newAlice.publicKey))
        #expect(new.role == .resident && !new.frozen && new.nonce == 0 && new.successor == nil)
        #expect(new.residentIdHash == residentIdHash && new.district == "kita" && new.ageBand == 5)
        #expect(new.coin == 19_000 && new.point == 2_100 && new.thanks == 700)
        #expect(new.coinChangedAt == paidAt, "recovery keeps the coins' expiry clock")
        #expect(new.registeredAt == recoveredAt)
        #expect(try ledger.lots(newAlice.publicKey) == pointLots)
        #expect(try ledger.lots(newAlice.publicKey, .thanks) == thanksLots)
        #expect(try ledger.store.get(StateKey.residentId(residentIdHash), in: .state) == newAlice.publicKey.bytes)
        // The expiry indexes follow the lots and the coins.
        let expiryKeys = ledger.store.allEntries(in: .state).filter { $0.key.first == StateKey.lotExpiryPrefix || $0.key.first == StateKey.coinExpiryPrefix }.map(\.key)
        #expect(expiryKeys.allSatisfy { !$0.contains(subsequence: alice.publicKey.bytes) })
        #expect(try ledger.store.get(StateKey.coinExpiry(Fixture.monthStart(2027, 5), newAlice.publicKey), in: .state) != nil)
        #expect(try ledger.store.get(StateKey.lotExpiry(Fixture.monthStart(2026, 6), newAlice.publicKey, .point), in: .state) != nil)
        // Per-resident totals follow: the subsidy's cap of 2,500 has 500 left for the new key.
        for program in [Ledger.chargeBonusProgram, subsidy, campaign, thanks] {
            #expect(try ledger.amount(StateKey.programResident(program, alice.publicKey)) == 0)
        }
        #expect(try ledger.amount(StateKey.programResident(subsidy, newAlice.publicKey)) == 2_000)
        #expect(try ledger.amount(StateKey.programResident(Ledger.chargeBonusProgram, newAlice.publicKey)) == 300)
        try ledger.expectRejected(ledger.grant(subsidy, to: newAlice.publicKey, 501), .perResidentCapExceeded)
        try ledger.commitAll([ledger.grant(subsidy, to: newAlice.publicKey, 500)])
        // Recovery mints and burns nothing.
        try ledger.commitAll([])
        #expect(try ledger.supply(.coin) == supplies[0])
        #expect(try ledger.supply(.thanks) == supplies[2])
        #expect(try ledger.supply(.point).minted == supplies[1].minted + 500)
        // The old key can sign nothing; the new one pays; its lots expire on time.
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 1), .frozen)
        try ledger.commitAll([ledger.send(from: newAlice, to: bob.publicKey, 1_000)])
        try ledger.block([], at: Fixture.monthStart(2026, 6))
        #expect(try ledger.point(newAlice) == 2_500)
        #expect(try ledger.program(campaign)?.expired == 100)
        // The resident cannot be registered again under a third key.
        try ledger.expectRejected(ledger.register(carol.publicKey, residentIdHash: residentIdHash), .residentAlreadyRegistered)
        try ledger.expectInvariants()
    }

    @Test("recover: a merchant's coins, points and receivables per funder move; the new key redeems them")
    func recoverMerchant() throws {
        let ledger = try town()
        let subsidy = try ledger.createdProgram(name: "subsidy")
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000, channel: .app), ledger.grant(subsidy, to: alice.publicKey, 400)])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 3_000)])
        try ledger.commitAll([ledger.freeze(shop.publicKey)])
        try ledger.commitAll([ledger.recover(shop.publicKey, to: newShop.publicKey)])
        #expect(try ledger.account(newShop.publicKey)?.merchantCategory == "supermarket")
        #expect(try ledger.account(newShop.publicKey)?.coin == 2_500)
        #expect(try ledger.account(newShop.publicKey)?.point == 500)
        #expect(try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey) == 0)
        #expect(try ledger.receivable(newShop.publicKey, Fixture.cityKey.publicKey) == 400)
        #expect(try ledger.receivable(newShop.publicKey, Fixture.coinIssuerKey.publicKey) == 100)
        try ledger.commitAll([ledger.redeem(newShop, reference: "after-recovery")])
        let record = try #require(try ledger.settlement(newShop.publicKey, 0))
        #expect(record.gross == 3_000)
        #expect(Set(record.lines.filter { $0.asset == .point }.map(\.funder)) == [Fixture.cityKey.publicKey, Fixture.coinIssuerKey.publicKey])
        try ledger.expectRejected(ledger.redeem(shop), .frozen)
        try ledger.expectInvariants()
    }

    @Test("recover: the month's send total and rebate total follow the resident to the new key")
    func recoverKeepsMonthlyTotals() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.createProgram(name: "restaurant 10%", funder: restaurant.publicKey,
                                                   rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 100))])
        try ledger.commitAll([ledger.charge(alice.publicKey, 100_000, channel: .app)])
        // Alice uses her whole monthly rebate (100) and sends ¥60,000 to Bob.
        try ledger.commitAll([ledger.pay(from: alice, to: restaurant.publicKey, 2_000), ledger.send(from: alice, to: bob.publicKey, 60_000)])
        try ledger.commitAll([ledger.freeze(alice.publicKey)])
        try ledger.commitAll([ledger.recover(alice.publicKey, to: newAlice.publicKey)])
        // Same resident, same month: no further rebate this month…
        try ledger.commitAll([ledger.pay(from: newAlice, to: restaurant.publicKey, 2_000)])
        #expect(try ledger.point(newAlice) == 0, "the monthly rebate cap was already used by the old key")
        // …and the monthly send total continues from ¥60,000.
        #expect(try ledger.amount(StateKey.monthlySent(newAlice.publicKey, asset: .coin, yearMonth: 202604)) == 60_000)
    }

    @Test("recover refusals: missing_cosignature, not_authorised, self_transfer, unknown_account, wrong_role, not_frozen, account_exists")
    func recoverRefusals() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.charge(alice.publicKey, 1_000), ledger.freeze(alice.publicKey)])
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: newAlice.publicKey, cosigners: []), .missingCosignature)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: newAlice.publicKey, cosigners: [Fixture.coinIssuerKey]), .missingCosignature)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: newAlice.publicKey, cosigners: [Fixture.auditorKey, Fixture.coinIssuerKey]), .missingCosignature)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: newAlice.publicKey, by: Fixture.cityKey, cosigners: [Fixture.registrarKey]), .notAuthorised)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: newAlice.publicKey, by: Fixture.cityKey, cosigners: []), .notAuthorised)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: alice.publicKey), .selfTransfer)
        try ledger.expectRejected(ledger.recover(stranger.publicKey, to: newAlice.publicKey), .unknownAccount)
        try ledger.expectRejected(ledger.recover(Fixture.auditorKey.publicKey, to: newAlice.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.recover(bob.publicKey, to: newAlice.publicKey), .notFrozen)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: bob.publicKey), .accountExists)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: Fixture.cityKey.publicKey), .accountExists)
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: Fixture.validatorKey.publicKey), .wrongRole)
        // With the city's co-signature (and another besides) it goes through, once.
        try ledger.commitAll([ledger.recover(alice.publicKey, to: newAlice.publicKey, cosigners: [Fixture.cityKey, Fixture.auditorKey])])
        try ledger.expectRejected(ledger.recover(alice.publicKey, to: carol.publicKey), .notFrozen)
        #expect(try ledger.coin(newAlice) == 1_000)
        try ledger.expectInvariants()
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
