import KizunaCore
import KizunaLedger
import KizunaStateTree
import KizunaStorage

// Migrations of a store written by an earlier release, run by `BlockStore.init` when it opens
// a store of an older format version. Each can be killed at any point and runs again (or
// resumes) on the next open; the new version is written, synced, only once it is complete.

extension BlockStore {
    /// The format a store has once its account-history index is built (ADR 0006).
    static let historyIndexFormatVersion: UInt32 = 2
    /// The format a store has once its state tree is in pages (ADR 0023).
    static let treePagesFormatVersion: UInt32 = 3
    /// The format a store has once it writes blocks in the compact form (ADR 0029).
    static let compactBlocksFormatVersion: UInt32 = 4

    /// Builds the account-history index of a version-1 store from its blocks, in batches of
    /// whole blocks closed once they hold `entriesPerBatch` entries, each written with the
    /// height it reached, then writes format version 2. Killed midway, the next open resumes
    /// after the last batch written (rewriting an entry is harmless: same key, empty value).
    func buildHistoryIndex(entriesPerBatch: Int, progress: (_ indexedHeight: UInt64, _ tipHeight: UInt64) -> Void) throws(ChainError) {
        let version = BlockStore.historyIndexFormatVersion
        let tip = try tipHeight()
        var height = try read(MetaKey.historyIndexedHeight, in: .meta).map { bytes throws(ChainError) in try Self.decodeUInt64(bytes, what: "migration height") } ?? 0
        progress(height, tip)
        while height < tip {
            var batch = WriteBatch()
            var entries = 0
            repeat {
                height += 1
                guard let block = try block(at: height) else {
                    throw ChainError(.missingBlock, "migrating to format version \(version): block \(height) is missing (tip is \(tip))")
                }
                entries += AccountHistory.addEntries(of: block, to: &batch)
            } while height < tip && entries < entriesPerBatch
            batch.put(encodeUInt64(height), for: MetaKey.historyIndexedHeight, in: .meta)
            // Not synced: a lost batch is rebuilt on the next open; the last write syncs all.
            try write(batch, sync: false, what: "migrating to format version \(version) at block \(height)")
            progress(height, tip)
        }
        var done = WriteBatch()
        done.put(encodeUInt32(version), for: MetaKey.formatVersion, in: .meta)
        done.delete(MetaKey.historyIndexedHeight, in: .meta)
        try write(done, sync: true, what: "writing format version \(version)")
    }

    /// Rebuilds the state tree of a version-2 store in pages (ADR 0023), then writes format
    /// version 3 (the steps after it, `startCompactBlocks` and `startShortTransactionKeys`,
    /// rewrite nothing). The root does not change — the tree is the same binary tree, stored
    /// differently — and is checked against the tip's state root before the version is written.
    ///
    /// Every key of the `.stateTree` family (nodes of the binary layout, and pages of an
    /// earlier run killed midway) is deleted, then the tree is built from the `.state` family
    /// in batches of `entriesPerBatch` entries, each written unsynced: a run killed at any
    /// point leaves version 2, and the next open starts again from the beginning. Cost is
    /// proportional to the state (seconds for a town, minutes at a million residents).
    func rebuildStateTreeInPages(entriesPerBatch: Int, progress: (_ entriesDone: Int, _ entries: Int) -> Void) throws(ChainError) {
        let version = BlockStore.treePagesFormatVersion
        let what = "migrating to format version \(version) (the state tree in pages)"
        do {
            try deleteEveryKey(in: .stateTree, perBatch: entriesPerBatch, what: what)
            var entries = 0
            try store.scan(.state, from: [], prefix: []) { _, _ in
                entries += 1
                return true
            }
            progress(0, entries)
            let tree = StateTree(store: store, cache: ledger.treeCache)
            var done = 0
            var from: [UInt8] = []
            var root = StateTree.emptyRoot
            while done < entries {
                let (updates, last) = try stateTreeEntries(from: from, count: entriesPerBatch)
                guard let next = last, !updates.isEmpty else { break }
                let update = try tree.update(updates)
                try write(update.batch, sync: false, what: what)
                root = update.root
                done += updates.count
                from = next
                progress(done, entries)
            }
            let expected = try tip().stateRoot
            guard root == expected else {
                throw ChainError(.corruptState, "\(what): the rebuilt state root \(root) is not the tip's \(expected); the state family does not match the chain")
            }
        } catch let error as ChainError {
            throw error
        } catch {
            throw ChainError(.storage, "\(what): \(error)")
        }
        var finished = WriteBatch()
        finished.put(encodeUInt32(version), for: MetaKey.formatVersion, in: .meta)
        try write(finished, sync: true, what: "writing format version \(version)")
    }

    /// Moves a version-3 store to version 4 (ADR 0029): from now on blocks are written in the
    /// compact form, with their signers numbered in the `signers` family (which opening the
    /// folder for writing created). The blocks already stored stay canonical and read as before,
    /// so nothing is rewritten; the version is written, synced, so that an older release
    /// refuses the folder instead of misreading its new blocks.
    func startCompactBlocks() throws(ChainError) {
        let version = BlockStore.compactBlocksFormatVersion
        var batch = WriteBatch()
        batch.put(encodeUInt32(version), for: MetaKey.formatVersion, in: .meta)
        try write(batch, sync: true, what: "writing format version \(version)")
    }

    /// Moves a version-4 store to version 5 (ADR 0031): from now on the `transactions` family
    /// keys a transaction by the first 8 bytes of its id (`TransactionIndex`). The entries
    /// already stored, keyed by whole ids, stay and read as before; the marker that says so is
    /// written in the same synced batch as the version, so a lookup never misses them.
    func startShortTransactionKeys() throws(ChainError) {
        let version = BlockStore.shortTransactionKeysFormatVersion
        var batch = WriteBatch()
        batch.put([], for: MetaKey.transactionIndexLongKeys, in: .meta)
        batch.put(encodeUInt32(version), for: MetaKey.formatVersion, in: .meta)
        try write(batch, sync: true, what: "writing format version \(version)")
    }

    /// Up to `count` state entries after `from` (from the first when `from` is empty), as the
    /// tree's (key hash, value hash), and the last state key taken.
    private func stateTreeEntries(from: [UInt8], count: Int) throws -> (updates: [(key: Hash, valueHash: Hash?)], last: [UInt8]?) {
        var updates: [(key: Hash, valueHash: Hash?)] = []
        var last: [UInt8]?
        try store.scan(.state, from: from, prefix: []) { key, value in
            // `from` is inclusive, and was taken by the batch before.
            if !from.isEmpty && key == from { return true }
            let treeKey: Hash = Ledger.treeKey(key)
            let valueHash: Hash = Ledger.treeValue(value)
            updates.append((key: treeKey, valueHash: valueHash))
            last = key
            return updates.count < count
        }
        return (updates, last)
    }

    /// Deletes every key of `family` in batches of `perBatch`, each scan starting at the last
    /// key deleted (so it does not walk the tombstones of the batches before it).
    private func deleteEveryKey(in family: ColumnFamily, perBatch: Int, what: String) throws {
        var from: [UInt8] = []
        while true {
            var stale = WriteBatch()
            var count = 0
            var last: [UInt8]?
            try store.scan(family, from: from, prefix: []) { key, _ in
                last = key
                stale.delete(key, in: family)
                count += 1
                return count < perBatch
            }
            guard let next = last else { return }
            try write(stale, sync: false, what: what)
            if count < perBatch { return }
            from = next
        }
    }
}
