import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// A random chain of every transaction kind that names accounts, committed through
/// `BlockStore.commit` (so with its account-history index). Each signer signs at most one
/// transaction per block, at its committed nonce, so whatever the proposer drops (a
/// transaction that does not apply) leaves no nonce gap for the next block.
struct RandomHistoryChain {
    static let residents = (0..<8).map { Fixture.account($0) }
    static let merchants = (0..<3).map { Fixture.account(20 + $0) }
    /// Registered later, or recovery targets.
    static let spares = (0..<6).map { Fixture.account(30 + $0) }
    static let authorities = [Fixture.coinIssuerKey, Fixture.registrarKey, Fixture.cityKey, Fixture.auditorKey]
    /// Every key that can appear in a transaction, plus two that never do.
    static let everyone = residents + merchants + spares + authorities + [Fixture.validatorKey, Fixture.account(50)]

    let chain: ChainHarness

    init(seed: UInt64, blocks blockCount: Int) throws {
        var random = SplitMix64(seed: seed)
        let chain = try ChainHarness()
        self.chain = chain
        let chainId = chain.genesis.chainId
        var time = Fixture.time("2026-04-02T09:00:00+09:00")
        var registrar = TransactionBuilder(chainId: chainId, key: Fixture.registrarKey, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: Fixture.coinIssuerKey, nextNonce: 0)
        var city = TransactionBuilder(chainId: chainId, key: Fixture.cityKey, nextNonce: 0)
        // Set-up: accounts, coins, a points and a thanks program.
        try chain.produce(Self.residents.map { registrar.register($0.publicKey, role: .resident) }
            + Self.merchants.map { registrar.register($0.publicKey, role: .merchant, merchantCategory: "restaurant") }, timestamp: time)
        time += 60_000
        try chain.produce(Self.residents.enumerated().map { issuer.charge(to: $1.publicKey, amount: 20_000, receiptId: "history-\(seed)-\($0)") } + [
            city.createProgram(CreateProgram(asset: .point, name: "green", funder: Fixture.cityKey.publicKey, budgetYen: 500_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 50_000)),
            city.createProgram(CreateProgram(asset: .thanks, name: "thanks", funder: Fixture.cityKey.publicKey, budgetYen: 500_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 50_000)),
        ], timestamp: time)

        var receipts = 0
        for _ in 0..<blockCount {
            time += 60_000 + random.next() % 3_600_000
            func nonce(_ key: PrivateKey) throws -> UInt64 { try chain.blocks.account(key.publicKey)?.nonce ?? 0 }
            func sign(_ key: PrivateKey, _ body: TransactionBody, cosigners: [PrivateKey] = []) throws -> SignedTransaction {
                Transaction(chainId: chainId, signer: key.publicKey, nonce: try nonce(key), body: body).signed(by: key, cosigners: cosigners)
            }
            func pick(_ keys: [PrivateKey]) -> PrivateKey { keys[random.below(keys.count)] }
            let registered = Self.residents + Self.spares
            var transactions: [SignedTransaction] = []
            // Residents: payments, sends, thanks (some refused: the proposer drops them).
            for resident in registered where random.chance(60) {
                let body: TransactionBody = switch random.below(3) {
                case 0: .pay(Pay(merchant: pick(Self.merchants).publicKey, amount: random.amount(in: 100...3_000)))
                case 1: .send(Send(to: pick(registered).publicKey, amount: random.amount(in: 1...2_000)))
                default: .thank(Thank(to: pick(registered).publicKey, amount: random.amount(in: 1...300)))
                }
                transactions.append(try sign(resident, body))
            }
            for merchant in Self.merchants where random.chance(15) {
                transactions.append(try sign(merchant, .redeem(Redeem(reference: "payout-\(random.below(1_000))"))))
            }
            // The coin issuer: a charge or a refund.
            receipts += 1
            let issuerBody: TransactionBody = random.chance(75)
                ? .charge(Charge(to: pick(registered).publicKey, amount: random.amount(in: 1_000...10_000), channel: .app, receiptId: "history-\(seed)-r\(receipts)"))
                : .refund(Refund(account: pick(registered).publicKey, amount: random.amount(in: 1...2_000), reason: .movedAway))
            // An exempt refund is co-signed by the city: the city is then named in it too.
            let issuerCosigners = if case .refund = issuerBody { [Fixture.cityKey] } else { [PrivateKey]() }
            transactions.append(try sign(Fixture.coinIssuerKey, issuerBody, cosigners: issuerCosigners))
            // The city: grants of points and thanks, now and then a new program.
            transactions.append(try sign(Fixture.cityKey, random.chance(90)
                ? .grant(Grant(program: UInt64(1 + random.below(2)), to: pick(registered).publicKey, amount: random.amount(in: 100...1_000)))
                : .createProgram(CreateProgram(asset: .point, name: "p\(random.below(100))", funder: pick(Self.merchants + [Fixture.cityKey]).publicKey, budgetYen: 10_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), perResidentCapYen: 1_000))))
            // The registrar: unfreeze or recover (co-signed by the city) a frozen account,
            // freeze one, or register a spare.
            let frozen = try registered.filter { try chain.blocks.account($0.publicKey).map { $0.frozen && $0.successor == nil } ?? false }
            let unregistered = try Self.spares.filter { try chain.blocks.account($0.publicKey) == nil }
            let registrarBody: TransactionBody
            if !frozen.isEmpty && random.chance(60) {
                let from = pick(frozen).publicKey
                registrarBody = random.chance(35) || unregistered.isEmpty ? .unfreeze(AccountAction(account: from)) : .recover(Recover(from: from, to: pick(unregistered).publicKey))
            } else if random.chance(60) || unregistered.isEmpty {
                registrarBody = .freeze(AccountAction(account: pick(registered).publicKey))
            } else {
                registrarBody = .register(Register(account: pick(unregistered).publicKey, role: .resident))
            }
            let cosigners = if case .recover = registrarBody { [Fixture.cityKey] } else { [PrivateKey]() }
            transactions.append(try sign(Fixture.registrarKey, registrarBody, cosigners: cosigners))
            try chain.produce(transactions, timestamp: time)
        }
    }

    var blocks: BlockStore { chain.blocks }

    /// The full scan: every committed transaction whose canonical bytes hold the account's 32
    /// bytes (signer, co-signer or a key in the body — an oracle that does not use the rule
    /// under test), newest first.
    func scan(_ account: PublicKey) throws -> [ChainPosition] {
        var found: [ChainPosition] = []
        let tip = try blocks.tipHeight()
        for height in stride(from: tip, through: 1, by: -1) {
            let block = try #require(try blocks.block(at: height))
            for (index, transaction) in block.transactions.enumerated().reversed() where Self.contains(transaction.canonicalBytes, account.bytes) {
                found.append(ChainPosition(height: height, index: UInt32(index)))
            }
        }
        return found
    }

    static func contains(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
        guard bytes.count >= part.count else { return false }
        return (0...(bytes.count - part.count)).contains { bytes[$0..<($0 + part.count)].elementsEqual(part) }
    }
}

@Suite("Account-history index")
struct AccountHistoryTests {
    /// Issue 16, must-be-true 3: the index returns exactly what a full scan of the blocks
    /// returns, paged with random page sizes to the end, with no repeat and no gap.
    @Test("the index pages are exactly the full scan, for random chains, accounts and page sizes", arguments: [UInt64(0x4849_5354_0001), 20_261_205, 7])
    func indexEqualsFullScan(seed: UInt64) throws {
        let history = try RandomHistoryChain(seed: seed, blocks: 30)
        let blocks = history.blocks
        var random = SplitMix64(seed: seed ^ 0xA5A5)
        var kinds: Set<String> = []
        var cosigned = 0
        let tip = try blocks.tipHeight()
        for height in 1...tip {
            for transaction in try #require(try blocks.block(at: height)).transactions {
                kinds.insert(transaction.transaction.body.kind)
                if !transaction.cosignatures.isEmpty { cosigned += 1 }
                // The rule and the oracle agree on every key.
                for key in RandomHistoryChain.everyone {
                    #expect(transaction.names(key.publicKey) == RandomHistoryChain.contains(transaction.canonicalBytes, key.publicKey.bytes))
                }
            }
        }
        let everyKind = ["register", "charge", "send", "create_program", "grant", "pay", "thank", "redeem", "refund", "freeze", "unfreeze", "recover"]
        #expect(everyKind.allSatisfy(kinds.contains), "kinds committed: \(kinds.sorted())")
        #expect(cosigned > 0, "no co-signed transaction was committed")

        var total = 0
        for key in RandomHistoryChain.everyone {
            let account = key.publicKey
            let expected = try history.scan(account)
            total += expected.count
            // Paged to the end: each page holds min(limit, what is left), and continues
            // exactly where the last one ended.
            var paged: [ChainPosition] = []
            var cursor: ChainPosition?
            repeat {
                let limit = 1 + random.below(7)
                let page = try blocks.history(of: account, before: cursor, limit: limit)
                #expect(page.count == min(limit, expected.count - paged.count), "\(account.address): page after \(cursor?.description ?? "the tip") of \(page.count), limit \(limit)")
                paged += page
                cursor = page.last
                if page.isEmpty { break }
            } while paged.count < expected.count
            #expect(paged == expected, "\(account.address): the index pages differ from the full scan")
            #expect(Set(paged).count == paged.count, "\(account.address): repeated entries")
            #expect(try blocks.history(of: account, before: cursor, limit: 5).isEmpty || paged.count < expected.count)
            // A plain height (`before=H`) is every transaction below block H.
            let height = UInt64(random.below(Int(tip) + 2))
            #expect(try blocks.history(of: account, before: ChainPosition(height: height, index: 0), limit: .max) == expected.filter { $0.height < height })
        }
        #expect(total > 200, "only \(total) history entries")
        // The index as a whole is what ChainVerifier expects.
        _ = try ChainVerifier(blocks: blocks).verify()
    }

    @Test("a history cursor parses as height:index or a plain height")
    func cursors() {
        #expect(ChainPosition(cursor: "12:3") == ChainPosition(height: 12, index: 3))
        #expect(ChainPosition(cursor: "12") == ChainPosition(height: 12, index: 0))
        #expect(ChainPosition(cursor: "12:3")?.description == "12:3")
        for bad in ["", ":", "12:", ":3", "a", "12:x", "12:3:4", "-1", "12:4294967296", "18446744073709551616"] {
            #expect(ChainPosition(cursor: bad) == nil, "\(bad) parsed")
        }
    }

    @Test("ChainVerifier finds a missing or stray account-history entry")
    func verifierChecksTheIndex() throws {
        let chain = try ChainHarness.tenBlocks()
        let entries = chain.store.allEntries(in: .accountHistory)
        #expect(!entries.isEmpty)
        for change in ["missing", "stray"] {
            let copy = try copyStore(chain.store)
            var batch = WriteBatch()
            if change == "missing" {
                guard let entry = entries.dropFirst(entries.count / 2).first else { continue }
                batch.delete(entry.key, in: .accountHistory)
            } else {
                batch.put([], for: AccountHistory.key(Fixture.account(50).publicKey, ChainPosition(height: 3, index: 0)), in: .accountHistory)
            }
            try copy.write(batch, sync: false)
            let blocks = try BlockStore(store: copy, genesis: chain.genesis)
            #expect(throws: ChainError(.corruptIndex, "")) { _ = try ChainVerifier(blocks: blocks).verify() }
        }
    }
}

/// A store of format version 1 — the same chain without the account-history family — is
/// migrated when it is opened; a newer version is refused.
@Suite("Store format migration")
struct StoreMigrationTests {
    /// `store` as the previous release wrote it: no account-history entries, format version 1.
    static func versionOne(of store: MemoryStore) throws -> MemoryStore {
        let copy = try copyStore(store)
        var batch = WriteBatch()
        for entry in copy.allEntries(in: .accountHistory) { batch.delete(entry.key, in: .accountHistory) }
        batch.put([0, 0, 0, 1], for: Array("format_version".utf8), in: .meta)
        try copy.write(batch, sync: false)
        return copy
    }

    static func formatVersion(_ store: MemoryStore) throws -> [UInt8]? { try store.get(Array("format_version".utf8), in: .meta) }

    @Test("a version-1 store is migrated on open: the index is built in batches, progress reported, the tree paged, version 5 written")
    func versionOneIsMigrated() throws {
        let history = try RandomHistoryChain(seed: 11, blocks: 20)
        let original = history.chain.store
        let old = try Self.versionOne(of: original)
        #expect(old.allEntries(in: .accountHistory).isEmpty)
        let tip = try history.blocks.tipHeight()
        var reports: [(UInt64, UInt64)] = []
        let migrated = try BlockStore(store: old, genesis: history.chain.genesis, migrationEntriesPerBatch: 40) { reports.append(($0, $1)) }
        #expect(snapshotWithoutUpgradeMarker(old) == snapshot(original), "the migrated store differs from one written with the index")
        #expect(try Self.formatVersion(old) == [0, 0, 0, 5])
        #expect(try old.get(Array("transaction_index_long_keys".utf8), in: .meta) != nil, "no marker of the entries keyed by whole ids")
        #expect(reports.first?.0 == 0 && reports.last?.0 == tip && reports.allSatisfy { $0.1 == tip }, "progress: \(reports)")
        #expect(reports.count > 3, "one batch only: \(reports)")
        _ = try ChainVerifier(blocks: migrated).verify()
        // Opened again: nothing to migrate.
        var again = 0
        _ = try BlockStore(store: old, genesis: history.chain.genesis) { _, _ in again += 1 }
        #expect(again == 0)
    }

    /// A store whose writes fail after `writesAllowed` batches, like a process killed then.
    final class DyingStore: KeyValueStore, @unchecked Sendable {
        let base: MemoryStore
        var writesAllowed: Int
        init(base: MemoryStore, writesAllowed: Int) {
            self.base = base
            self.writesAllowed = writesAllowed
        }
        func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? { try base.get(key, in: family) }
        func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
            guard writesAllowed > 0 else { throw StorageError(.writeFailed, "killed") }
            writesAllowed -= 1
            try base.write(batch, sync: sync)
        }
        func scan(_ family: ColumnFamily, from start: [UInt8], prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
            try base.scan(family, from: start, prefix: prefix, body)
        }
    }

    @Test("a migration killed midway resumes on the next open and ends with the same store", arguments: [0, 1, 3, 6])
    func killedMigrationResumes(writesBeforeKill: Int) throws {
        let history = try RandomHistoryChain(seed: 12, blocks: 20)
        let original = history.chain.store
        let old = try Self.versionOne(of: original)
        #expect(throws: ChainError(.storage, "")) {
            _ = try BlockStore(store: DyingStore(base: old, writesAllowed: writesBeforeKill), genesis: history.chain.genesis, migrationEntriesPerBatch: 20)
        }
        #expect(try Self.formatVersion(old) == [0, 0, 0, 1], "the version changed before the index was complete")
        var resumedFrom: UInt64?
        _ = try BlockStore(store: old, genesis: history.chain.genesis, migrationEntriesPerBatch: 20) { height, _ in
            if resumedFrom == nil { resumedFrom = height }
        }
        #expect((resumedFrom ?? 0 > 0) == (writesBeforeKill > 0), "resumed from \(String(describing: resumedFrom))")
        #expect(snapshotWithoutUpgradeMarker(old) == snapshot(original))
    }

    @Test("a store of an unknown, newer format version is refused with an error naming both versions")
    func newerVersionIsRefused() throws {
        let chain = try ChainHarness.tenBlocks()
        let copy = try copyStore(chain.store)
        var batch = WriteBatch()
        batch.put([0, 0, 0, 6], for: Array("format_version".utf8), in: .meta)
        try copy.write(batch, sync: false)
        do {
            _ = try BlockStore(store: copy, genesis: chain.genesis)
            Issue.record("a version-6 store was opened")
        } catch {
            #expect(error.code == .unsupportedFormat)
            #expect(error.message.contains("version 6") && error.message.contains("\(BlockStore.formatVersion)"), "\(error)")
        }
    }
}
