import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Expiry of lots and coins at the start of a block, and the base-date snapshots of the
/// unused-balance report (docs/ledger-rules.md, "Time").
@Suite("Expiry and base dates")
struct ExpiryTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let shop = Fixture.account(9)

    @Test("calendar: expiry instants and base periods in Japan time")
    func calendar() {
        let april15 = Fixture.time("2026-04-15T10:00:00+09:00")
        #expect(LedgerCalendar.expiry(Fixture.sixMonths, from: april15) == Fixture.monthStart(2026, 11))
        #expect(LedgerCalendar.expiry(ExpiryRule(kind: .endOfMonthAfterLastChange, months: 12), from: april15) == Fixture.monthStart(2027, 5))
        #expect(LedgerCalendar.expiry(Fixture.never, from: april15) == UInt64.max)
        // The last second of April in Japan is an April grant; 15:00 UTC on 30 April is already May here.
        #expect(LedgerCalendar.expiry(ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), from: Fixture.time("2026-04-30T23:59:59+09:00")) == Fixture.monthStart(2026, 6))
        #expect(LedgerCalendar.expiry(ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), from: Fixture.time("2026-04-30T15:00:00Z")) == Fixture.monthStart(2026, 7))
        #expect(Fixture.monthStart(2026, 11) == Fixture.time("2026-10-31T15:00:00Z"))
        // Base periods: April–September and October–March, split at 00:00 JST.
        #expect(LedgerCalendar.basePeriod(Fixture.time("2026-09-30T23:59:59+09:00")) == 4052)
        #expect(LedgerCalendar.basePeriod(Fixture.time("2026-10-01T00:00:00+09:00")) == 4053)
        #expect(LedgerCalendar.basePeriod(Fixture.time("2027-03-31T23:59:59+09:00")) == 4053)
        #expect(LedgerCalendar.basePeriod(Fixture.time("2027-04-01T00:00:00+09:00")) == 4054)
        #expect(LedgerCalendar.baseDate(closing: 4052) == (2026, 9, 30))
        #expect(LedgerCalendar.baseDate(closing: 4053) == (2027, 3, 31))
        #expect(LedgerCalendar.period(closedBy: 2027, month: 3, day: 31) == 4053)
        #expect(LedgerCalendar.period(closedBy: 2027, month: 3, day: 30) == nil)
    }

    @Test("lots: due when the block time reaches expiresAt; several expiries crossed by one block all go")
    func lotExpiry() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0)])
        let short = try ledger.createdProgram(name: "one month", expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1))
        let long = try ledger.createdProgram(name: "six months", expiry: Fixture.sixMonths)
        let thanks = try ledger.createdProgram(.thanks, name: "thanks", expiry: Fixture.threeMonths, perResidentCap: 10_000)
        let forever = try ledger.createdProgram(name: "forever", expiry: Fixture.never)
        try ledger.commitAll([
            ledger.grant(short, to: alice.publicKey, 100), ledger.grant(long, to: alice.publicKey, 200),
            ledger.grant(thanks, to: alice.publicKey, 300), ledger.grant(forever, to: alice.publicKey, 400),
            ledger.grant(short, to: bob.publicKey, 50),
        ], at: Fixture.time("2026-04-10T10:00:00+09:00"))
        // 1 ms before 1 June nothing is due.
        try ledger.block([], at: Fixture.monthStart(2026, 6) - 1)
        #expect(try ledger.point(alice) == 700 && ledger.point(bob) == 50)
        // At 1 June 00:00 JST the one-month lots go, from both accounts.
        try ledger.block([], at: Fixture.monthStart(2026, 6))
        #expect(try ledger.point(alice) == 600 && ledger.point(bob) == 0)
        #expect(try ledger.program(short)?.expired == 150)
        #expect(try ledger.store.get(StateKey.lotExpiry(Fixture.monthStart(2026, 6), alice.publicKey, .point), in: .state) == nil)
        #expect(try ledger.supply(.point).expired == 150)
        try ledger.expectInvariants()
        // One block on 1 December crosses the thanks expiry (1 August) and the six-month one
        // (1 November).
        try ledger.block([], at: Fixture.monthStart(2026, 12))
        #expect(try ledger.point(alice) == 400 && ledger.thanks(alice) == 0)
        #expect(try ledger.lots(alice.publicKey).map(\.program) == [forever])
        #expect(try ledger.program(long)?.expired == 200 && ledger.program(thanks)?.expired == 300)
        #expect(try ledger.supply(.thanks).expired == 300)
        #expect(ledger.store.allEntries(in: .state).filter { $0.key.first == StateKey.lotExpiryPrefix }.isEmpty, "never-expiring lots have no index entry")
        try ledger.expectInvariants()
    }

    @Test("coins: expire at the end of the month 12 months after the holder's last balance change; a send restarts the clock of both sides")
    func coinExpiry() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll([ledger.register(alice.publicKey), ledger.register(bob.publicKey), ledger.register(carol.publicKey)])
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000), ledger.charge(bob.publicKey, 10_000)], at: Fixture.time("2026-04-15T10:00:00+09:00"))
        #expect(try ledger.store.get(StateKey.coinExpiry(Fixture.monthStart(2027, 5), alice.publicKey), in: .state) != nil)
        try ledger.commitAll([ledger.send(from: bob, to: carol.publicKey, 1_000)], at: Fixture.time("2026-06-10T10:00:00+09:00"))
        #expect(try ledger.store.get(StateKey.coinExpiry(Fixture.monthStart(2027, 5), bob.publicKey), in: .state) == nil)
        #expect(try ledger.store.get(StateKey.coinExpiry(Fixture.monthStart(2027, 7), bob.publicKey), in: .state) != nil)
        #expect(try ledger.store.get(StateKey.coinExpiry(Fixture.monthStart(2027, 7), carol.publicKey), in: .state) != nil)

        try ledger.block([], at: Fixture.monthStart(2027, 5) - 1)
        #expect(try ledger.coin(alice) == 10_000)
        // Expiry runs before the block's transactions: alice cannot spend coins due at the block time.
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 1), .insufficientBalance, at: Fixture.monthStart(2027, 5))
        try ledger.block([], at: Fixture.monthStart(2027, 5))
        #expect(try ledger.coin(alice) == 0 && ledger.coin(bob) == 9_000)
        #expect(try ledger.supply(.coin).expired == 10_000)
        // A charge to an expired holder starts afresh.
        try ledger.commitAll([ledger.charge(alice.publicKey, 500)])
        #expect(try ledger.coin(alice) == 500)
        try ledger.block([], at: Fixture.monthStart(2027, 7))
        #expect(try ledger.coin(bob) == 0 && ledger.coin(carol) == 0)
        #expect(try ledger.supply(.coin).expired == 20_000)
        #expect(try ledger.supply(.coin).outstanding == 500)
        try ledger.expectInvariants()
    }

    @Test("merchants' coins do not expire; the coin-expiry index holds residents only")
    func merchantCoinsDoNotExpire() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll([ledger.register(alice.publicKey), ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket")])
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000)])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 10_100)])
        try ledger.block([], at: Fixture.monthStart(2028, 1))
        #expect(try ledger.account(shop.publicKey)?.coin == 10_000)
        try ledger.expectInvariants()
    }

    @Test("base dates: the first block after 30 September records the unused coins before its own transactions")
    func baseDateSnapshot() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 30_000), (bob, 0)])
        try ledger.commitAll([ledger.charge(bob.publicKey, 5_000)], at: Fixture.time("2026-09-30T23:59:59+09:00"))
        let open = try #require(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 30))
        #expect(!open.closed && open.outstandingYen == 35_000, "before the base date ends the figure is provisional")
        try ledger.commitAll([ledger.charge(bob.publicKey, 7_000)], at: Fixture.monthStart(2026, 10))
        let closed = try #require(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 30))
        #expect(describe(closed) == describe(baseDate: "2026-09-30", closed: true, outstanding: 35_000, deposit: 0, refundLimit: 1_750))
        #expect(try ledger.amount(StateKey.currentBasePeriodKey) == 4053)
        // Only base dates have a report.
        #expect(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 29) == nil)
        // A block that jumps over 31 March into a later period records every base date crossed.
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 1_000)], at: Fixture.time("2027-04-20T12:00:00+09:00"))
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31)?.outstandingYen == 42_000)
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31)?.closed == true)
        try ledger.block([], at: Fixture.time("2028-10-02T12:00:00+09:00"))
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 9, day: 30)?.closed == true)
        #expect(try ledger.reports.unusedBalance(year: 2028, month: 3, day: 31)?.closed == true)
        #expect(try ledger.reports.unusedBalance(year: 2028, month: 9, day: 30)?.closed == true)
        try ledger.expectInvariants()
    }

    @Test("base dates: coins that expire before a base date are not unused at that date (with a block in between)")
    func baseDateAfterExpiryWithBlockInBetween() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0)])
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000)], at: Fixture.time("2026-07-15T10:00:00+09:00"))
        try ledger.commitAll([ledger.charge(bob.publicKey, 3_000)], at: Fixture.time("2027-07-20T10:00:00+09:00"))
        // Alice's coins expire on 1 August 2027; a block on 2 August expires them.
        try ledger.block([], at: Fixture.time("2027-08-02T10:00:00+09:00"))
        try ledger.block([], at: Fixture.time("2027-10-05T10:00:00+09:00"))
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 9, day: 30)?.outstandingYen == 3_000)
    }

    @Test("base dates: coins that expire before a base date are not unused at that date (no block in between)")
    func baseDateAfterExpiryWithoutBlockInBetween() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0)])
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000)], at: Fixture.time("2026-07-15T10:00:00+09:00"))
        try ledger.commitAll([ledger.charge(bob.publicKey, 3_000)], at: Fixture.time("2027-07-20T10:00:00+09:00"))
        // Alice's coins expired on 1 August 2027, before the 30 September base date, but the
        // first block after that is on 5 October.
        try ledger.block([], at: Fixture.time("2027-10-05T10:00:00+09:00"))
        #expect(try ledger.coin(alice) == 0)
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 9, day: 30)?.outstandingYen == 3_000)
    }
}
