import KizunaCore
import Synchronization

/// The latest values of the ledger state (`ColumnFamily.state`) read or written through one
/// `RocksDBStore`, in memory: a payment reads its payer's and merchant's records, which the
/// blocks before it wrote, so most state reads would otherwise search the memtable's skip
/// list or miss RocksDB's block cache and decompress a block.
///
/// Never stale, because every write to the store goes through `RocksDBStore.write`, which
/// updates the cache after RocksDB applied the batch and before it returns; a value read
/// from RocksDB is kept only if no write touched its shard while it was being read (each
/// shard counts its writes), so a read that raced a write cannot put back an older value.
/// Absent keys are kept as absent (a resident's first payment in a bonus program reads a
/// record that is not there yet).
///
/// Bounded: `bytesMax` split over shards; a shard that grows past its share is emptied whole
/// (what is hot is read back at once), so the cost of staying bounded is one dictionary
/// reset per share of writes, not bookkeeping on every read.
final class StateValueCache: Sendable {
    static let shardCount = 64
    /// Bytes charged per entry besides its key and value (the dictionary's slot, the arrays'
    /// headers), so that many small entries stay within the bound too.
    static let entryOverheadBytes = 96

    private struct Shard {
        var values: [ByteKey: [UInt8]?] = [:]
        var bytes = 0
        /// Writes applied to this shard: a read from RocksDB is kept only if none came in
        /// between.
        var writes: UInt64 = 0
    }

    /// One shard behind its own lock (a class: a `Mutex` cannot be an array's element).
    private final class LockedShard: Sendable {
        let mutex = Mutex(Shard())
    }

    private let shards: [LockedShard]
    private let shardBytesMax: Int
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)

    /// - Parameter bytesMax: memory for keys and values, at least one entry per shard.
    init(bytesMax: Int) {
        precondition(bytesMax > 0, "a state value cache of \(bytesMax) bytes")
        shards = (0..<Self.shardCount).map { _ in LockedShard() }
        shardBytesMax = max(bytesMax / Self.shardCount, 4 << 10)
    }

    /// What a lookup found: the value (`.some(nil)`: known absent), or a miss with the
    /// shard's write count to hand back to `remember`.
    enum Lookup {
        case hit([UInt8]?)
        case miss(writes: UInt64)
    }

    func lookup(_ key: [UInt8]) -> Lookup {
        let found = shards[shard(of: key)].mutex.withLock { shard -> Lookup in
            if let value = shard.values[ByteKey(key)] { return .hit(value) }
            return .miss(writes: shard.writes)
        }
        if case .hit = found { hitCount.add(1, ordering: .relaxed) } else { missCount.add(1, ordering: .relaxed) }
        return found
    }

    /// Keeps `value`, read from RocksDB after `lookup` answered `.miss(writes:)`, unless a
    /// write reached the shard since.
    func remember(_ value: [UInt8]?, for key: [UInt8], writesAtLookup: UInt64) {
        shards[shard(of: key)].mutex.withLock { shard in
            guard shard.writes == writesAtLookup else { return }
            Self.put(value, for: key, in: &shard, bytesMax: shardBytesMax)
        }
    }

    /// The state writes of a batch RocksDB has applied (nil value: deleted).
    func applied(_ writes: [(key: [UInt8], value: [UInt8]?)]) {
        for (key, value) in writes {
            shards[shard(of: key)].mutex.withLock { shard in
                shard.writes &+= 1
                Self.put(value, for: key, in: &shard, bytesMax: shardBytesMax)
            }
        }
    }

    /// Forgets `keys`: a batch RocksDB refused may or may not be on disk, so the next read of
    /// each goes to RocksDB.
    func forget(_ keys: [[UInt8]]) {
        for key in keys {
            shards[shard(of: key)].mutex.withLock { shard in
                shard.writes &+= 1
                if let old = shard.values.removeValue(forKey: ByteKey(key)) { shard.bytes -= Self.cost(key, old) }
            }
        }
    }

    /// Entries and bytes held now, and lookups answered from memory and from RocksDB since the
    /// store opened.
    var statistics: StateValueCacheStatistics {
        var entries = 0
        var bytes = 0
        for shard in shards {
            shard.mutex.withLock { shard in
                entries += shard.values.count
                bytes += shard.bytes
            }
        }
        return StateValueCacheStatistics(entries: entries, bytes: bytes, hits: hitCount.load(ordering: .relaxed), misses: missCount.load(ordering: .relaxed))
    }

    private static func put(_ value: [UInt8]?, for key: [UInt8], in shard: inout Shard, bytesMax: Int) {
        if let old = shard.values.updateValue(value, forKey: ByteKey(key)) { shard.bytes -= cost(key, old) }
        shard.bytes += cost(key, value)
        if shard.bytes > bytesMax {
            shard.values.removeAll(keepingCapacity: true)
            shard.bytes = 0
        }
    }

    private static func cost(_ key: [UInt8], _ value: [UInt8]?) -> Int {
        key.count + (value?.count ?? 0) + entryOverheadBytes
    }

    private func shard(of key: [UInt8]) -> Int {
        Int(UInt(bitPattern: ByteKey(key).hashValue) % UInt(Self.shardCount))
    }
}

/// What a store's `StateValueCache` holds and how often it answered.
public struct StateValueCacheStatistics: Sendable, Equatable {
    public var entries: Int
    /// Keys, values and the per-entry overhead charged against the bound.
    public var bytes: Int
    public var hits: Int
    public var misses: Int
}
