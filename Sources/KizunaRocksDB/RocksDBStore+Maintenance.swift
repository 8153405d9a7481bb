internal import CRocksDB
internal import Foundation
public import KizunaStorage

/// Maintenance and measurement of a `RocksDBStore`: compaction, flushing, and what the store
/// holds on disk per family (for tools and benchmarks, and `close()`'s flush).
extension RocksDBStore {

    /// Compacts every family fully (memtables flushed, every level rewritten, deleted and
    /// overwritten entries dropped), e.g. before measuring `diskUsageBytes()`. Blocks until
    /// done. Does nothing on a closed or read-only store.
    public func compact() {
        compactFully { $0.allFamilies }
    }

    /// Compacts the whole key range of the families `select` picks, every level rewritten
    /// (BottommostLevelCompaction::kForce). Blocks until done; nothing on a closed or
    /// read-only store.
    private func compactFully(_ select: (Handles) -> [OpaquePointer]) {
        guard !isReadOnly, let handles = try? acquire() else { return }
        defer { release() }
        guard let options = rocksdb_compactoptions_create() else { return }
        defer { rocksdb_compactoptions_destroy(options) }
        rocksdb_compactoptions_set_bottommost_level_compaction(options, 2)
        for family in select(handles) {
            rocksdb_compact_range_cf_opt(handles.db, family, options, nil, 0, nil, 0)
        }
    }

    /// Writes every family's memtable to table files and waits, so that the write-ahead log
    /// they covered is deleted: a cleanly closed store leaves no log to replay and holds its
    /// data compressed (ADR 0020). Best effort: on a failure the log still holds everything.
    /// Does nothing on a closed or read-only store.
    public func flushMemtables() {
        guard !isReadOnly, let handles = try? acquire() else { return }
        defer { release() }
        guard let options = rocksdb_flushoptions_create() else { return }
        defer { rocksdb_flushoptions_destroy(options) }
        rocksdb_flushoptions_set_wait(options, 1)
        for family in handles.allFamilies {
            var errptr: UnsafeMutablePointer<CChar>?
            rocksdb_flush_cf(handles.db, options, family, &errptr)
            if let errptr { rocksdb_free(errptr) }
        }
    }

    /// Compacts the families that hold a few keys rewritten in place (`consensus`: the
    /// consensus journal, whose record and lock carry a whole proposed block and are rewritten
    /// at every step, and `meta`), so that the versions they overwrote or deleted do not stay
    /// on disk until RocksDB next chooses to compact them. `close()` calls it after the flush;
    /// it reads and writes only those families' few live entries. Does nothing on a closed or
    /// read-only store.
    public func compactRewrittenFamilies() {
        compactFully { handles in ColumnFamily.rewrittenInPlace.compactMap { handles.families[$0] } }
    }

    /// Compacts the ledger state and its tree (`state`, `state_tree`) when their table files
    /// together are at most `limitBytes`, and says whether it did (ADR 0030). Both families are
    /// rewritten in place by every block, so until RocksDB next compacts them they also hold
    /// the versions the blocks overwrote: after the network benchmark (5,000 residents) 40–50
    /// bytes per transaction beside 70 of live state. A town's state is tens of MiB and
    /// compacts in a fraction of a second; a million residents' is over a GiB and is left to
    /// RocksDB (ADR 0028). `close()` calls it after the flush, with the configured limit.
    /// Does nothing on a closed or read-only store.
    @discardableResult
    public func compactStateFamilies(ifAtMost limitBytes: UInt64) -> Bool {
        guard limitBytes > 0, !isReadOnly, !isClosed, stateFamiliesTableFileBytes() <= limitBytes else { return false }
        compactFully { handles in [ColumnFamily.state, .stateTree].compactMap { handles.families[$0] } }
        return true
    }

    /// The table files of `state` and `state_tree` together, in bytes (RocksDB's
    /// `rocksdb.total-sst-files-size`; 0 on a closed store).
    public func stateFamiliesTableFileBytes() -> UInt64 {
        guard let handles = try? acquire() else { return 0 }
        defer { release() }
        return tableFileBytes(of: .state, handles) + tableFileBytes(of: .stateTree, handles)
    }

    /// RocksDB's `rocksdb.total-sst-files-size` of one family (compressed table files; 0 while
    /// everything is still in the memtable).
    private func tableFileBytes(of family: ColumnFamily, _ handles: Handles) -> UInt64 {
        guard let text = rocksdb_property_value_cf(handles.db, handles.family(family), "rocksdb.total-sst-files-size") else { return 0 }
        defer { rocksdb_free(text) }
        return UInt64(String(cString: text)) ?? 0
    }

    /// The sum of the sizes of the regular files under the data folder (tables, write-ahead
    /// logs, manifest, info logs), in bytes. Works on a closed store too.
    public func diskUsageBytes() -> UInt64 {
        let root = URL(fileURLWithPath: path, isDirectory: true)
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey]
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else {
            return 0
        }
        var total: UInt64 = 0
        for case let url as URL in enumerator {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else {
                continue
            }
            total += UInt64(values.fileSize ?? 0)
        }
        return total
    }

    /// What one column family holds: its entries and their key and value bytes (read by a full
    /// scan: exact, before compression), and the size of its table files on disk (RocksDB's
    /// `rocksdb.total-sst-files-size`, compressed; 0 while everything is still in the memtable
    /// and the write-ahead log).
    public struct FamilyUsage: Sendable, Codable {
        public var family: String
        public var entries: Int
        public var keyBytes: UInt64
        public var valueBytes: UInt64
        public var tableFileBytes: UInt64
    }

    /// Usage of every column family (a scan of the whole store: for tools, not for a node).
    public func familyUsage() throws -> [FamilyUsage] {
        let handles = try acquire()
        defer { release() }
        var usage: [FamilyUsage] = []
        for family in ColumnFamily.allCases {
            var entry = FamilyUsage(family: family.rawValue, entries: 0, keyBytes: 0, valueBytes: 0, tableFileBytes: 0)
            try scan(family, from: [], prefix: []) { key, value in
                entry.entries += 1
                entry.keyBytes += UInt64(key.count)
                entry.valueBytes += UInt64(value.count)
                return true
            }
            entry.tableFileBytes = tableFileBytes(of: family, handles)
            usage.append(entry)
        }
        return usage
    }
}
