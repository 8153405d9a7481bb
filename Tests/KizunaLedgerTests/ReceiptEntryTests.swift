@testable import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// The `transactions` family (ADR 0031): keyed by the first 8 bytes of an id, each entry the
/// positions of every committed transaction with that prefix, a lookup confirmed against the
/// block; the entries of stores before version 5, keyed by whole ids, still read the same.
@Suite("Transaction index entries")
struct ReceiptEntryTests {
    /// Every committed transaction of `chain`, with its position.
    static func committed(_ blocks: BlockStore) throws -> [(transaction: SignedTransaction, position: ChainPosition)] {
        var all: [(SignedTransaction, ChainPosition)] = []
        for height in 1...(try blocks.tipHeight()) {
            let block = try #require(try blocks.block(at: height))
            for (index, transaction) in block.transactions.enumerated() {
                all.append((transaction, ChainPosition(height: height, index: UInt32(index))))
            }
        }
        return all
    }

    /// `store` as a version-4 release wrote it: each entry keyed by the whole id, its value the
    /// position alone (ADR 0020), and format version 4.
    static func versionFour(of chain: ChainHarness) throws -> MemoryStore {
        let copy = try copyStore(chain.store)
        var batch = WriteBatch()
        for entry in copy.allEntries(in: .transactions) { batch.delete(entry.key, in: .transactions) }
        for (transaction, position) in try committed(chain.blocks) {
            batch.put(TransactionIndex.bytes(of: position), for: transaction.id.bytes, in: .transactions)
        }
        batch.put([0, 0, 0, 4], for: Array("format_version".utf8), in: .meta)
        try copy.write(batch, sync: false)
        return copy
    }

    /// An id that is not `id` but shares its first 8 bytes: what a transaction of another
    /// resident looks like to the index once ≈ 4 × 10⁹ have committed.
    static func neighbour(of id: Hash) -> Hash {
        var bytes = id.bytes
        bytes[TransactionIndex.keyBytes] ^= 0x01
        return Hash(bytes)!
    }

    @Test("an entry is keyed by 8 bytes of the id and lists 12-byte positions; every committed transaction is found at its place")
    func entriesAreShort() throws {
        let chain = try ChainHarness.tenBlocks()
        let entries = chain.store.allEntries(in: .transactions)
        let all = try Self.committed(chain.blocks)
        #expect(entries.count == all.count)
        for entry in entries {
            #expect(entry.key.count == 8, "an index key of \(entry.key.count) bytes")
            #expect(entry.value.count == 12, "an index entry of \(entry.value.count) bytes")
        }
        for (transaction, position) in all {
            #expect(try chain.blocks.receipt(of: transaction.id) == Receipt(transactionId: transaction.id, height: position.height, index: position.index))
        }
        #expect(try chain.blocks.indexedTransactionCount() == all.count)
    }

    @Test("a lookup is exact: an id sharing a committed one's 8 bytes is not committed; an entry listing two positions gives each its own")
    func lookupComparesTheWholeId() throws {
        let chain = try ChainHarness.tenBlocks()
        let all = try Self.committed(chain.blocks)
        let (first, firstPosition) = all[3]
        let (second, secondPosition) = all[17]
        #expect(try chain.blocks.receipt(of: Self.neighbour(of: first.id)) == nil)

        // The state after two committed transactions shared a prefix: the second's entry moved
        // under the first's key, after it.
        let copy = try copyStore(chain.store)
        var batch = WriteBatch()
        batch.delete(TransactionIndex.key(second.id), in: .transactions)
        batch.put(TransactionIndex.bytes(of: firstPosition) + TransactionIndex.bytes(of: secondPosition), for: TransactionIndex.key(first.id), in: .transactions)
        try copy.write(batch, sync: false)
        let blocks = try BlockStore(store: copy, genesis: chain.genesis)
        let sharing = Hash(Array(first.id.bytes.prefix(8)) + Array(second.id.bytes.dropFirst(8)))!
        #expect(try blocks.receipt(of: first.id) == Receipt(transactionId: first.id, height: firstPosition.height, index: firstPosition.index))
        #expect(try blocks.receipt(of: sharing) == nil, "an id no block holds")
        #expect(try blocks.indexedTransactionCount() == all.count)
        #expect(try blocks.indexedPositions(of: first.id) == [firstPosition, secondPosition])
    }

    @Test("a commit adds its position to an entry that already lists another, instead of replacing it")
    func commitAppendsToAnExistingEntry() throws {
        let (chain, _) = try StoredBlockFormTests.chainKeepingBlocks()
        let chainId = chain.genesis.chainId
        var resident = TransactionBuilder(chainId: chainId, key: Fixture.account(0), nextNonce: try chain.blocks.account(Fixture.account(0).publicKey)?.nonce ?? 0)
        let next = resident.send(to: Fixture.account(1).publicKey, amount: 5)
        // An earlier transaction listed under the new one's key, as if their ids shared 8 bytes.
        let earlier = ChainPosition(height: 3, index: 1)
        var plant = WriteBatch()
        plant.put(TransactionIndex.bytes(of: earlier), for: TransactionIndex.key(next.id), in: .transactions)
        try chain.store.write(plant, sync: false)

        let block = try chain.produce([next], timestamp: Fixture.time("2026-04-01T11:00:00+09:00"))
        let position = ChainPosition(height: block.height, index: 0)
        #expect(try chain.store.get(TransactionIndex.key(next.id), in: .transactions) == TransactionIndex.bytes(of: earlier) + TransactionIndex.bytes(of: position))
        #expect(try chain.blocks.receipt(of: next.id) == Receipt(transactionId: next.id, height: position.height, index: 0))
        // The planted position is one entry more than the chain has: the verifier says so.
        do {
            _ = try ChainVerifier(blocks: chain.blocks).verify()
            Issue.record("an index listing a transaction twice verified")
        } catch {
            #expect(error.code == .corruptIndex, "\(error)")
        }
    }

    @Test("entries of one batch that share a key are merged in order; one already stored is added to")
    func addEntriesMerges() throws {
        let base = Hash.sha256(Array("base".utf8))
        let other = Hash.sha256(Array("other".utf8))
        let receipts = [
            Receipt(transactionId: base, height: 7, index: 0),
            Receipt(transactionId: other, height: 7, index: 1),
            Receipt(transactionId: Self.neighbour(of: base), height: 7, index: 2),
        ]
        let stored = [TransactionIndex.key(other): TransactionIndex.bytes(of: ChainPosition(height: 2, index: 9))]
        var batch = WriteBatch()
        let shared = TransactionIndex.addEntries(of: receipts, to: &batch) { key throws(Never) in stored[key] }
        #expect(shared == 2)
        #expect(batch.operations == [
            .put(family: .transactions, key: TransactionIndex.key(base),
                 value: TransactionIndex.bytes(of: ChainPosition(height: 7, index: 0)) + TransactionIndex.bytes(of: ChainPosition(height: 7, index: 2))),
            .put(family: .transactions, key: TransactionIndex.key(other),
                 value: TransactionIndex.bytes(of: ChainPosition(height: 2, index: 9)) + TransactionIndex.bytes(of: ChainPosition(height: 7, index: 1))),
        ])
        #expect(TransactionIndex.positions(inEntry: []) == nil)
        #expect(TransactionIndex.positions(inEntry: [UInt8](repeating: 0, count: 13)) == nil)
    }

    @Test("a version-4 store reads read-only as it is; opened for writing it becomes version 5, keeps its entries, and indexes new ones by 8 bytes")
    func versionFourStoreIsUpgraded() throws {
        let chain = try ChainHarness.tenBlocks()
        let old = try Self.versionFour(of: chain)
        let all = try Self.committed(chain.blocks)

        let readOnly = try BlockStore(store: TreePageMigrationTests.ReadOnlyStore(base: old), genesis: chain.genesis)
        for (transaction, position) in all {
            #expect(try readOnly.receipt(of: transaction.id)?.height == position.height)
        }
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 4], "a read-only open wrote")

        let upgraded = try ChainHarness(genesis: chain.genesis, store: old)
        upgraded.tipCertificate = chain.tipCertificate
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 5])
        #expect(old.allEntries(in: .transactions).allSatisfy { $0.key.count == 32 }, "the upgrade rewrote entries")
        let chainId = chain.genesis.chainId
        var resident = TransactionBuilder(chainId: chainId, key: Fixture.account(0), nextNonce: try upgraded.blocks.account(Fixture.account(0).publicKey)?.nonce ?? 0)
        let next = try upgraded.produce([resident.send(to: Fixture.account(1).publicKey, amount: 5)], timestamp: Fixture.time("2026-04-01T11:00:00+09:00"))
        let nextId = next.transactions[0].id
        #expect(try old.get(TransactionIndex.key(nextId), in: .transactions) == TransactionIndex.bytes(of: ChainPosition(height: next.height, index: 0)))
        #expect(try ChainVerifier(blocks: upgraded.blocks).verify().height == next.height)

        // Opened again (the version says 5 now): the marker keeps the old entries found.
        let reopened = try BlockStore(store: old, genesis: chain.genesis)
        for (transaction, position) in all {
            #expect(try reopened.receipt(of: transaction.id) == Receipt(transactionId: transaction.id, height: position.height, index: position.index))
        }
        #expect(try reopened.receipt(of: nextId)?.height == next.height)
        #expect(try reopened.receipt(of: Self.neighbour(of: nextId)) == nil)
    }

    @Test("an entry of a version-4 store in the oldest form (the whole receipt) reads the same and verifies; one naming another transaction is refused")
    func previousFormStillReads() throws {
        let chain = try ChainHarness.tenBlocks()
        let block = try #require(try chain.blocks.block(at: 3))
        let transaction = try #require(block.transactions.last)
        let expected = try #require(try chain.blocks.receipt(of: transaction.id))
        let copy = try Self.versionFour(of: chain)
        var batch = WriteBatch()
        batch.put(expected.canonicalBytes, for: transaction.id.bytes, in: .transactions)
        try copy.write(batch, sync: false)
        let blocks = try BlockStore(store: copy, genesis: chain.genesis)
        #expect(try blocks.receipt(of: transaction.id) == expected)
        #expect(try ChainVerifier(blocks: blocks).verify().height == 10)

        let other = Receipt(transactionId: block.transactions[0].id, height: expected.height, index: expected.index)
        var wrong = WriteBatch()
        wrong.put(other.canonicalBytes, for: transaction.id.bytes, in: .transactions)
        try copy.write(wrong, sync: false)
        do {
            _ = try blocks.receipt(of: transaction.id)
            Issue.record("an entry naming another transaction was read")
        } catch {
            #expect(error.code == .corruptIndex)
        }
    }

    @Test("one transaction of a compact block reads as its canonical bytes without the others; past the end, none")
    func oneTransactionOfACompactBlock() throws {
        let (chain, blocks) = try StoredBlockFormTests.chainKeepingBlocks()
        var checked = 0
        for block in blocks {
            let stored = try #require(try chain.store.get(heightKey(block.height), in: .blocks))
            #expect(StoredBlockForm.isCompact(stored))
            for (index, transaction) in block.transactions.enumerated() {
                #expect(try chain.blocks.signerNumbers.transactionBytes(at: index, ofCompact: stored) == transaction.canonicalBytes)
                #expect(try chain.blocks.transactionId(at: ChainPosition(height: block.height, index: UInt32(index))) == transaction.id)
                checked += 1
            }
            #expect(try chain.blocks.signerNumbers.transactionBytes(at: block.transactions.count, ofCompact: stored) == nil)
            do {
                _ = try chain.blocks.transactionId(at: ChainPosition(height: block.height, index: UInt32(block.transactions.count)))
                Issue.record("a position past the block's end gave an id")
            } catch {
                #expect(error.code == .corruptIndex)
            }
        }
        #expect(checked > 10)
    }
}
