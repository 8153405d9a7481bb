import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// The invariants checked after every block (`BlockInvariants`, always on in `Ledger.execute`).
/// A violation there stops the process, so the pure check is tested here directly: the real
/// writes of blocks of every kind pass it, and the same writes with one value corrupted fail.
@Suite("Block invariants")
struct BlockInvariantsTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let shop = Fixture.account(9)

    /// The checked writes of a block, with their values before it, as `Ledger.execute` sees them.
    func checkedChanges(_ execution: BlockExecution, before store: MemoryStore) throws -> [BlockInvariants.Change] {
        try execution.changes.filter { BlockInvariants.isChecked($0.key) }.map {
            BlockInvariants.Change(key: $0.key, before: try store.get($0.key, in: .state), after: $0.value)
        }
    }

    /// A town where alice holds coins and points, and a block that charges (coins and a bonus
    /// lot), grants, pays with points then coins, and redeems: every supply counter moves.
    func busyBlock() throws -> (changes: [BlockInvariants.Change], program: UInt64) {
        let ledger = try LedgerHarness()
        try ledger.commitAll([
            ledger.register(alice.publicKey), ledger.register(bob.publicKey),
            ledger.register(shop.publicKey, role: .merchant, merchantCategory: "restaurant"),
        ])
        let program = try ledger.createdProgram(budget: 10_000)
        try ledger.commitAll([ledger.charge(alice.publicKey, 20_000), ledger.grant(program, to: alice.publicKey, 500)])
        let execution = try ledger.dryRun([
            ledger.charge(bob.publicKey, 3_000),
            ledger.grant(program, to: bob.publicKey, 100),
            ledger.pay(from: alice, to: shop.publicKey, 2_000),
            ledger.send(from: bob, to: alice.publicKey, 1_000),
            ledger.redeem(shop),
        ])
        #expect(execution.rejected.isEmpty, "\(execution.rejected.map { "\($0.error)" })")
        return (try checkedChanges(execution, before: ledger.store), program)
    }

    /// Replaces the after-value of the write to `key` by `edit` of it.
    func corrupt<T: CanonicalCodable>(_ changes: [BlockInvariants.Change], _ key: [UInt8], as type: T.Type, _ edit: (inout T) -> Void) throws -> [BlockInvariants.Change] {
        var changes = changes
        let index = try #require(changes.firstIndex { $0.key == key }, "the block wrote no \(T.self) at \(key.hexString)")
        var value = try T(storedBytes: try #require(changes[index].after))
        edit(&value)
        changes[index].after = value.canonicalBytes
        return changes
    }

    @Test func theWritesOfRealBlocksKeepEveryInvariant() throws {
        let (changes, _) = try busyBlock()
        #expect(changes.count >= 6, "accounts, supplies and programs are among the writes")
        #expect(BlockInvariants.violations(changes) == [])
        #expect(BlockInvariants.violations([]) == [])
    }

    @Test func aBalanceThatGrewWithoutAMintIsCaught() throws {
        let (changes, _) = try busyBlock()
        let corrupted = try corrupt(changes, StateKey.account(alice.publicKey), as: AccountState.self) { $0.coin += 1 }
        let violations = BlockInvariants.violations(corrupted)
        #expect(violations.count == 1)
        #expect(violations.first?.hasPrefix("coin: the balances the block touched") == true, "\(violations)")
    }

    @Test func aMintWithoutABalanceIsCaught() throws {
        let (changes, _) = try busyBlock()
        let corrupted = try corrupt(changes, StateKey.supply(.coin), as: SupplyState.self) { $0.minted += 7 }
        #expect(BlockInvariants.violations(corrupted).contains { $0.hasPrefix("coin: the balances the block touched") })
    }

    @Test func aSupplyCounterThatDecreasedIsCaught() throws {
        // Coins minted before the block were 20,000; the corrupted write says 0.
        let (changes, _) = try busyBlock()
        let corrupted = try corrupt(changes, StateKey.supply(.coin), as: SupplyState.self) { $0.minted = 0 }
        #expect(BlockInvariants.violations(corrupted).contains { $0.contains("a supply counter decreased") })
    }

    @Test func pointsMintedOutsideAProgramAreCaught() throws {
        let (changes, _) = try busyBlock()
        // The points supply and a resident's points both grow by 5: balances and supply agree,
        // but no program granted them.
        var corrupted = try corrupt(changes, StateKey.supply(.point), as: SupplyState.self) { $0.minted += 5 }
        corrupted = try corrupt(corrupted, StateKey.account(bob.publicKey), as: AccountState.self) { $0.point += 5 }
        let violations = BlockInvariants.violations(corrupted)
        #expect(violations.contains { $0.contains("but its programs granted") }, "\(violations)")
        #expect(!violations.contains { $0.contains("the balances the block touched") }, "\(violations)")
    }

    @Test func aProgramOverItsBudgetIsCaught() throws {
        let (changes, program) = try busyBlock()
        let corrupted = try corrupt(changes, StateKey.program(program), as: ProgramState.self) { $0.granted = $0.definition.budgetYen + 1 }
        let violations = BlockInvariants.violations(corrupted)
        #expect(violations.contains { $0.contains("exceeds its budget") }, "\(violations)")
    }

    @Test func anUndecodableWriteIsCaught() throws {
        let (changes, _) = try busyBlock()
        var corrupted = changes
        let index = try #require(corrupted.firstIndex { $0.key.first == 0x01 })
        corrupted[index].after = [0xFF]
        #expect(BlockInvariants.violations(corrupted).contains { $0.contains("does not decode") })
    }

    /// Expiry (work done before any transaction, at the block boundary) keeps them too.
    @Test func expiryKeepsEveryInvariant() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll([ledger.register(alice.publicKey)])
        let program = try ledger.createdProgram(expiry: Fixture.threeMonths)
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 700), ledger.charge(alice.publicKey, 5_000)])
        let execution = try ledger.dryRun([], at: Fixture.monthStart(2028, 1))
        let changes = try checkedChanges(execution, before: ledger.store)
        let points = try #require(changes.first { $0.key == [0x04, Asset.point.rawValue] })
        #expect(try SupplyState(storedBytes: try #require(points.after)).expired > 0, "the block expired points")
        #expect(BlockInvariants.violations(changes) == [])
    }
}
