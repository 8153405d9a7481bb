import KizunaChain
import KizunaCore
import KizunaStorage
import Testing

/// A store of format version 2 — the state tree stored one node per key, by position, as the
/// releases before ADR 0023 wrote it — is migrated to pages when it is opened: the same root,
/// and in the end the very store a version-3 node writes.
@Suite("State tree pages: migration of a version-2 store")
struct TreePageMigrationTests {
    /// `store` (the current version) as a version-2 release wrote it: every node of every page under its
    /// own key `depth (2 bytes) ‖ prefix`, and format version 2.
    static func versionTwo(of store: MemoryStore) throws -> MemoryStore {
        let copy = try copyStore(store)
        var batch = WriteBatch()
        for page in copy.allEntries(in: .stateTree) {
            batch.delete(page.key, in: .stateTree)
            let topDepth = Int(page.key[1]) << 8 | Int(page.key[2])
            let topPrefix = Array(page.key[3...])
            let present = Int(page.value[0]) << 8 | Int(page.value[1])
            var offset = 2
            for slot in 0..<15 where present & (1 << slot) != 0 {
                let relative = slot >= 7 ? 3 : slot >= 3 ? 2 : slot >= 1 ? 1 : 0
                let path = slot - ((1 << relative) - 1)
                let depth = topDepth + relative
                var prefix = topPrefix + [UInt8](repeating: 0, count: (depth + 7) / 8 - topPrefix.count)
                for step in 0..<relative where (path >> (relative - 1 - step)) & 1 == 1 {
                    let bit = topDepth + step
                    prefix[bit >> 3] |= 0x80 >> UInt8(bit & 7)
                }
                batch.put(Array(page.value[offset..<(offset + 65)]), for: [UInt8(depth >> 8), UInt8(depth & 0xff)] + prefix, in: .stateTree)
                offset += 65
            }
        }
        batch.put([0, 0, 0, 2], for: Array("format_version".utf8), in: .meta)
        try copy.write(batch, sync: false)
        return copy
    }

    @Test("a version-2 store is migrated on open: the tree is rebuilt in pages, in batches, with the same root")
    func versionTwoIsMigrated() throws {
        let history = try RandomHistoryChain(seed: 23, blocks: 20)
        let original = history.chain.store
        let old = try Self.versionTwo(of: original)
        #expect(old.allEntries(in: .stateTree).count > original.allEntries(in: .stateTree).count, "no binary-layout nodes to migrate")
        #expect(old.allEntries(in: .stateTree).allSatisfy { $0.key.first! < 0x50 })
        var reports: [(Int, Int)] = []
        let migrated = try BlockStore(store: old, genesis: history.chain.genesis, migrationEntriesPerBatch: 25) { _, _ in
            Issue.record("the account-history index was rebuilt for a version-2 store")
        } treeMigrationProgress: { reports.append(($0, $1)) }
        #expect(snapshotWithoutUpgradeMarker(old) == snapshot(original), "the migrated store differs from one written in pages")
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 5])
        let entries = original.allEntries(in: .state).count
        #expect(reports.first?.0 == 0 && reports.last?.0 == entries && reports.allSatisfy { $0.1 == entries }, "progress: \(reports)")
        #expect(reports.count > 3, "one batch only: \(reports)")
        _ = try ChainVerifier(blocks: migrated).verify()
        var again = 0
        _ = try BlockStore(store: old, genesis: history.chain.genesis) { _, _ in again += 1 } treeMigrationProgress: { _, _ in again += 1 }
        #expect(again == 0)
    }

    @Test("a tree migration killed midway starts again on the next open and ends with the same store", arguments: [0, 1, 4, 9])
    func killedMigrationStartsAgain(writesBeforeKill: Int) throws {
        let history = try RandomHistoryChain(seed: 24, blocks: 20)
        let original = history.chain.store
        let old = try Self.versionTwo(of: original)
        #expect(throws: ChainError(.storage, "")) {
            _ = try BlockStore(store: StoreMigrationTests.DyingStore(base: old, writesAllowed: writesBeforeKill), genesis: history.chain.genesis, migrationEntriesPerBatch: 25)
        }
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 2], "the version changed before the tree was complete")
        _ = try BlockStore(store: old, genesis: history.chain.genesis, migrationEntriesPerBatch: 25)
        #expect(snapshotWithoutUpgradeMarker(old) == snapshot(original))
    }

    /// A store that reports itself read-only, as `kizuna audit --data` and `kizuna verify`
    /// open a node's folder.
    final class ReadOnlyStore: KeyValueStore, @unchecked Sendable {
        let base: MemoryStore
        init(base: MemoryStore) { self.base = base }
        var isReadOnly: Bool { true }
        func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? { try base.get(key, in: family) }
        func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) { throw StorageError(.writeFailed, "read-only") }
        func scan(_ family: ColumnFamily, from start: [UInt8], prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
            try base.scan(family, from: start, prefix: prefix, body)
        }
    }

    @Test("a version-2 store opened read-only is refused with what to do, not a failed write; a version-3 one opens")
    func readOnlyVersionTwoIsRefusedClearly() throws {
        let history = try RandomHistoryChain(seed: 26, blocks: 5)
        let old = try Self.versionTwo(of: history.chain.store)
        do {
            _ = try BlockStore(store: ReadOnlyStore(base: old), genesis: history.chain.genesis)
            Issue.record("a read-only version-2 store was opened")
        } catch {
            #expect(error.code == .unsupportedFormat)
            #expect(error.message.contains("version 2") && error.message.contains("read-only") && error.message.contains("start the node"), "\(error)")
        }
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 2])
        _ = try BlockStore(store: ReadOnlyStore(base: history.chain.store), genesis: history.chain.genesis)
    }

    @Test("a version-2 store whose state does not give the tip's root is refused, and stays version 2")
    func stateNotMatchingTheChainIsRefused() throws {
        let history = try RandomHistoryChain(seed: 25, blocks: 10)
        let old = try Self.versionTwo(of: history.chain.store)
        let record = try #require(old.allEntries(in: .state).last)
        var batch = WriteBatch()
        batch.put(record.value + [0], for: record.key, in: .state)
        try old.write(batch, sync: false)
        do {
            _ = try BlockStore(store: old, genesis: history.chain.genesis)
            Issue.record("a store whose state differs from its chain was migrated")
        } catch {
            #expect(error.code == .corruptState)
            #expect(error.message.contains("format version 3") && error.message.contains("tip"), "\(error)")
        }
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 2])
    }
}
