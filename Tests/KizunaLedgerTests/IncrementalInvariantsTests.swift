import KizunaCore
@testable import KizunaLedger
import KizunaStorage
import Testing

/// `IncrementalInvariants` (issue 16): the invariants of design §2.4 after each block at the
/// cost of what the block changed. Its verdict must be the full scan's
/// (`LedgerReports.invariantViolation`); the property test of every kind
/// (`AllKindsPropertyTests`) compares the two, and the running totals with a fresh scan, after
/// every block of random chains. Here: a change made to break each invariant is found, with
/// the full scan's message, when only the broken item is named as changed.
@Suite struct IncrementalInvariantsTests {
    /// Two residents with coins and points (a program's lots), a merchant, and a delegate
    /// appointed to the program, with every invariant holding.
    static func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness()
        let residents = [Fixture.account(1), Fixture.account(2)]
        try ledger.commitAll(residents.map { ledger.register($0.publicKey) } + [
            ledger.register(Fixture.account(20).publicKey, role: .merchant, merchantCategory: "restaurant"),
        ])
        let program = try ledger.createdProgram(.point, budget: 50_000)
        try ledger.commitAll(residents.map { ledger.charge($0.publicKey, 10_000) } + residents.map { ledger.grant(program, to: $0.publicKey, 3_000) } + [
            ledger.appointDelegate(program, Fixture.account(40).publicKey, budget: 5_000),
        ])
        try ledger.commitAll([ledger.pay(from: residents[0], to: Fixture.account(20).publicKey, 1_000)])
        try ledger.expectInvariants()
        return ledger
    }

    /// Writes `value` under `key` in a copy of the harness's state and returns the incremental
    /// verdict for that one change and the full scan's, both on the copy.
    static func verdicts(_ ledger: LedgerHarness, key: [UInt8], _ value: [UInt8]?) throws -> (incremental: String?, full: String?) {
        var (running, violation) = try IncrementalInvariants.start(store: ledger.store, genesis: ledger.genesis)
        #expect(violation == nil)
        let broken = try copyStore(ledger.store)
        let before = try broken.get(key, in: .state)
        var batch = WriteBatch()
        if let value { batch.put(value, for: key, in: .state) } else { batch.delete(key, in: .state) }
        try broken.write(batch, sync: false)
        let incremental = try running.apply([IncrementalInvariants.Change(key: key, before: before, after: value)], store: broken)
        let full = try LedgerReports(store: broken, genesis: ledger.genesis).invariantViolation()
        return (incremental, full)
    }

    @Test func aBalanceWithoutSupplyIsFound() throws {
        let ledger = try Self.town()
        var account = try #require(try ledger.account(Fixture.account(2).publicKey))
        account.coin += 1
        let found = try Self.verdicts(ledger, key: StateKey.account(Fixture.account(2).publicKey), account.canonicalBytes)
        #expect(found.full != nil && found.incremental == found.full, "\(found)")
        #expect(found.incremental?.contains("balances sum to") == true)
    }

    @Test func lotsThatDoNotSumToTheBalanceAreFound() throws {
        let ledger = try Self.town()
        let key = Fixture.account(1).publicKey
        var lots = try ledger.lots(key)
        let first = try #require(lots.first)
        lots[0] = Lot(program: first.program, funder: first.funder, amount: first.amount - 1, grantedAt: first.grantedAt, expiresAt: first.expiresAt)
        let found = try Self.verdicts(ledger, key: StateKey.lots(key, .point), LotList(lots).canonicalBytes)
        // Also the program's outstanding against the lots held under it: the lots check comes first.
        #expect(found.full != nil && found.incremental == found.full, "\(found)")
        #expect(found.incremental?.contains("its lots sum to") == true)
    }

    /// A program that says it granted one more than it did: its outstanding no longer matches
    /// the lots held under it.
    @Test func aProgramGrantingMoreThanItAccountsForIsFound() throws {
        let ledger = try Self.town()
        var program = try #require(try ledger.program(0))
        program.granted += 1
        let found = try Self.verdicts(ledger, key: StateKey.program(0), program.canonicalBytes)
        #expect(found.full != nil && found.incremental == found.full, "\(found)")
        #expect(found.incremental?.contains("but its lots hold") == true, "\(found)")
    }

    @Test func aDelegateHoldingValueIsFound() throws {
        let ledger = try Self.town()
        // A merchant's role turned to a delegate's, with the coins it received.
        let key = Fixture.account(20).publicKey
        var account = try #require(try ledger.account(key))
        account.role = .delegate
        let found = try Self.verdicts(ledger, key: StateKey.account(key), account.canonicalBytes)
        #expect(found.full != nil && found.incremental == found.full, "\(found)")
        #expect(found.incremental?.contains("holds value") == true)
    }

    @Test func anAccountWhosePointsLeftItsLotsIsFound() throws {
        let ledger = try Self.town()
        // The points balance moved and the lots did not: the account's own change names it.
        let key = Fixture.account(1).publicKey
        var account = try #require(try ledger.account(key))
        var other = try #require(try ledger.account(Fixture.account(2).publicKey))
        account.point -= 1
        other.point += 1
        var (running, _) = try IncrementalInvariants.start(store: ledger.store, genesis: ledger.genesis)
        let broken = try copyStore(ledger.store)
        var changes: [IncrementalInvariants.Change] = []
        var batch = WriteBatch()
        for (owner, state) in [(key, account), (Fixture.account(2).publicKey, other)] {
            changes.append(IncrementalInvariants.Change(key: StateKey.account(owner), before: try broken.get(StateKey.account(owner), in: .state), after: state.canonicalBytes))
            batch.put(state.canonicalBytes, for: StateKey.account(owner), in: .state)
        }
        try broken.write(batch, sync: false)
        let incremental = try running.apply(changes, store: broken)
        let full = try LedgerReports(store: broken, genesis: ledger.genesis).invariantViolation()
        #expect(full != nil && incremental == full, "incremental \(incremental ?? "nil"), full \(full ?? "nil")")
    }

    /// Changes that keep every invariant leave nothing to report, and the totals stay those a
    /// scan finds: a coin payment's two accounts moved together.
    @Test func changesThatKeepTheInvariantsPass() throws {
        let ledger = try Self.town()
        var (running, _) = try IncrementalInvariants.start(store: ledger.store, genesis: ledger.genesis)
        let before = try copyStore(ledger.store)
        let execution = try ledger.block([ledger.pay(from: Fixture.account(2), to: Fixture.account(20).publicKey, 2_500)])
        #expect(execution.accepted.count == 1)
        let changes = try execution.changes.map { IncrementalInvariants.Change(key: $0.key, before: try before.get($0.key, in: .state), after: $0.value) }
        #expect(try running.apply(changes, store: ledger.store) == nil)
        #expect(running.totalsEqual(try LedgerReports.StateTotals(scanning: ledger.store)))
    }
}
