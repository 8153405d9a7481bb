/// Every tuning knob of `RocksDBStore`, in one place. Limits are named with their unit last.
///
/// The defaults bound memory to roughly `blockCacheBytes + stateValueCacheBytes +
/// totalWriteBufferBytes` (about 576 MiB) plus RocksDB's fixed overhead, whatever the size of
/// the data folder: index and filter blocks are charged to the block cache instead of growing
/// without bound.
/// See `docs/storage.md` for why each value was chosen.
public struct RocksDBConfiguration: Sendable, Equatable {
    /// One LRU cache of uncompressed data, index and filter blocks, shared by every family.
    public var blockCacheBytes: Int = 256 << 20
    /// The latest ledger state values read or written, kept in memory by the store
    /// (`StateValueCache`, ADR 0025); 0 keeps none. A bound, not an allocation: it fills only
    /// as the state grows (≈ 150 bytes an entry; 256 MiB holds ≈ 250,000 residents' state).
    public var stateValueCacheBytes: Int = 256 << 20
    /// Size of one family's memtable before it is flushed to a table file.
    public var writeBufferBytes: Int = 8 << 20
    /// Memtables a family may hold at once (one being written, the rest being flushed).
    public var writeBuffersPerFamily: Int32 = 2
    /// Memtable memory across all families; reaching it flushes the largest memtable.
    public var totalWriteBufferBytes: Int = 64 << 20
    /// Write-ahead log size after which the memtables that pin the oldest log are flushed,
    /// so a family written rarely does not keep old log files alive.
    public var maxTotalWALBytes: UInt64 = 128 << 20
    /// Table files kept open at once (file descriptors).
    public var maxOpenFiles: Int32 = 512
    /// Bloom filter size; 10 bits per key gives about 1% false positives on point lookups.
    public var bloomFilterBitsPerKey: Double = 10
    /// Uncompressed size of one data block in a table file, for the families read by key at
    /// random (the state, its tree, the store's metadata).
    public var blockSizeBytes: Int = 4 << 10
    /// Data-block size of the families written once and then read rarely or in order (blocks,
    /// certificates, block hashes, transaction receipts, the account-history index): a larger
    /// block compresses better, and a cache miss there is rare (ADR 0024).
    public var archiveBlockSizeBytes: Int = 16 << 10
    /// Zstandard dictionary trained for each table file of the families whose values repeat
    /// the same public keys (blocks and the state); 0 turns dictionaries off (ADR 0024).
    public var dictionaryBytes: Int = 64 << 10
    /// Sample bytes each such dictionary is trained on (its CPU cost at a flush or compaction).
    public var dictionaryTrainingBytes: Int = 1 << 20
    /// Data blocks held back while a table file's samples are gathered, at most (its memory
    /// cost at a flush or compaction).
    public var dictionaryBufferBytes: UInt64 = 8 << 20
    /// A clean close compacts the state and its tree when their table files together are at
    /// most this size (ADR 0030): a town's state (5,000 residents ≈ 10 MiB, 50,000 ≈ 100 MiB)
    /// compacts in well under a second, while a million residents' (≈ 1.5 GiB) would take tens
    /// of seconds at every restart and is left to RocksDB. 0 never compacts them at close.
    public var stateCompactionAtCloseBytesMax: UInt64 = 128 << 20
    /// Background flush and compaction threads.
    public var backgroundJobs: Int32 = 2
    /// Size of one RocksDB info log file (`LOG`) before it rolls over.
    public var infoLogFileBytes: Int = 8 << 20
    /// Info log files kept (older ones are deleted).
    public var infoLogFilesKept: Int = 4
    /// How table files are compressed (the state tree's family is never compressed: its
    /// nodes are hashes). If the RocksDB library was built without the codec, the store falls
    /// back to the next one in `TableCompression`'s order, down to none.
    public var compression: TableCompression = .zstd

    public init() {}

    /// The configuration a node uses unless told otherwise.
    public static let `default` = RocksDBConfiguration()
}

/// A table-file codec, in order of preference when one is not linked into the library.
public enum TableCompression: Int32, Sendable, Equatable, CaseIterable {
    /// Zstandard (level 3): about a fifth smaller than LZ4 on blocks, two fifths on the
    /// account-history index (ADR 0020); its cost is paid once per flush or compaction.
    case zstd = 7
    /// LZ4: the cheapest on CPU.
    case lz4 = 4
    /// No compression.
    case none = 0

    /// The codec to try when this one is not linked into the library, or nil.
    var fallback: TableCompression? {
        switch self {
        case .zstd: .lz4
        case .lz4: .none
        case .none: nil
        }
    }
}
