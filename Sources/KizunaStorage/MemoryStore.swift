import Synchronization
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// An in-memory `KeyValueStore` for tests and the simulator. Ordered by unsigned bytes, like
/// RocksDB's default comparator. Thread-safe.
public final class MemoryStore: KeyValueStore {
    private let families: Mutex<[ColumnFamily: SortedByteMap]>

    public init() {
        var initial: [ColumnFamily: SortedByteMap] = [:]
        for family in ColumnFamily.allCases { initial[family] = SortedByteMap() }
        families = Mutex(initial)
    }

    private init(families initial: [ColumnFamily: SortedByteMap]) {
        families = Mutex(initial)
    }

    /// A store holding what `included` hold at this moment, every other family empty: a
    /// copy taken under the lock, its chunks shared until this store or the copy writes one,
    /// so taking it costs a few words per family and later writes here do not reach it. The
    /// auditor checks the invariants of one height on such a copy of the state while it
    /// replays the next block. Only the families named are copied: a copied family that this
    /// store keeps writing pays for copying each chunk it writes while the copy lives.
    public func snapshot(of included: Set<ColumnFamily>) -> MemoryStore {
        let copied = families.withLock { families in
            var copied: [ColumnFamily: SortedByteMap] = [:]
            for family in ColumnFamily.allCases {
                copied[family] = included.contains(family) ? families[family]! : SortedByteMap()
            }
            return copied
        }
        return MemoryStore(families: copied)
    }

    public func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? {
        families.withLock { $0[family]!.value(for: key) }
    }

    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        families.withLock { families in
            for operation in batch.operations {
                switch operation {
                case .put(let family, let key, let value):
                    families[family]!.set(value, for: key)
                case .delete(let family, let key):
                    families[family]!.remove(key)
                }
            }
        }
    }

    public func scan(
        _ family: ColumnFamily,
        from start: [UInt8],
        prefix: [UInt8],
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool
    ) throws {
        // A copy (its chunks shared, not copied) so that `body` may call back into the store.
        let snapshot = families.withLock { $0[family]! }
        try snapshot.forEach(from: start) { key, value in
            if !prefix.isEmpty && !key.starts(with: prefix) { return false }
            return try body(key, value)
        }
    }

    /// Every entry of every family; used by tests that corrupt or compare stores.
    public func allEntries(in family: ColumnFamily) -> [(key: [UInt8], value: [UInt8])] {
        families.withLock { $0[family]!.entries(from: []) }
    }
}

/// A map keyed by bytes in unsigned lexicographic order, held as sorted chunks of at most
/// `chunkEntriesMax` entries: an insert or a delete moves the entries of one chunk, not every
/// entry behind the key (as one sorted array did: an audit's in-memory replica of a million
/// transactions spent half its time moving array elements, issue 16). A copy is cheap — the
/// chunks are shared until one of them is written — so a scan works on a copy taken under the
/// lock and may call back into the store.
struct SortedByteMap {
    /// Entries of one chunk, at most; a fuller chunk is split in two.
    static let chunkEntriesMax = 512

    private struct Chunk {
        /// Each key's first eight bytes as a big-endian number (zero-padded): compared first,
        /// from one contiguous array, so a search touches a key's own buffer only when two
        /// keys share their first eight bytes (issue 16: the replica's writes were a fifth of
        /// an audit's replay, most of it following key pointers during binary searches).
        var heads: [UInt64] = []
        var keys: [[UInt8]] = []
        var values: [[UInt8]] = []

        /// Where `key` (whose head is `head`) is, or where it would be inserted.
        func index(of key: [UInt8], head: UInt64) -> (index: Int, found: Bool) {
            var low = 0
            var high = heads.count
            while low < high {
                let middle = (low + high) / 2
                let other = heads[middle]
                if other < head || (other == head && bytesPrecede(keys[middle], key)) {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            return (low, low < heads.count && heads[low] == head && keys[low] == key)
        }

        mutating func insert(_ key: [UInt8], head: UInt64, value: [UInt8], at index: Int) {
            heads.insert(head, at: index)
            keys.insert(key, at: index)
            values.insert(value, at: index)
        }

        mutating func remove(at index: Int) {
            heads.remove(at: index)
            keys.remove(at: index)
            values.remove(at: index)
        }

        /// Splits off the upper half as a chunk of its own.
        mutating func splitUpperHalf() -> Chunk {
            let half = keys.count / 2
            let upper = Chunk(heads: Array(heads[half...]), keys: Array(keys[half...]), values: Array(values[half...]))
            heads.removeSubrange(half...)
            keys.removeSubrange(half...)
            values.removeSubrange(half...)
            return upper
        }
    }

    /// A key's first eight bytes as a big-endian number, zero-padded: heads order as their keys
    /// do, except that keys equal in their first eight bytes (or one a zero-padded prefix of
    /// the other) have equal heads and are told apart by comparing the bytes.
    @inline(__always)
    static func head(of key: [UInt8]) -> UInt64 {
        key.withUnsafeBytes { raw in
            if raw.count >= 8 { return UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)) }
            var head: UInt64 = 0
            for (index, byte) in raw.enumerated() { head |= UInt64(byte) << (56 - 8 * index) }
            return head
        }
    }

    /// Sorted, none empty; every key of a chunk precedes every key of the next.
    private var chunks: [Chunk] = []

    /// The chunk that holds `key` or would hold it: the last whose first key is not above it
    /// (the first chunk for a key below every other).
    private func chunkIndex(for key: [UInt8], head: UInt64) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            let first = chunks[middle].heads[0]
            if head < first || (head == first && bytesPrecede(key, chunks[middle].keys[0])) {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return max(0, low - 1)
    }

    func value(for key: [UInt8]) -> [UInt8]? {
        guard !chunks.isEmpty else { return nil }
        let head = Self.head(of: key)
        let chunk = chunks[chunkIndex(for: key, head: head)]
        let position = chunk.index(of: key, head: head)
        return position.found ? chunk.values[position.index] : nil
    }

    mutating func set(_ value: [UInt8], for key: [UInt8]) {
        let head = Self.head(of: key)
        guard !chunks.isEmpty else {
            chunks = [Chunk(heads: [head], keys: [key], values: [value])]
            return
        }
        let which = chunkIndex(for: key, head: head)
        let position = chunks[which].index(of: key, head: head)
        if position.found {
            chunks[which].values[position.index] = value
            return
        }
        chunks[which].insert(key, head: head, value: value, at: position.index)
        if chunks[which].keys.count > Self.chunkEntriesMax {
            let upper = chunks[which].splitUpperHalf()
            chunks.insert(upper, at: which + 1)
        }
    }

    mutating func remove(_ key: [UInt8]) {
        guard !chunks.isEmpty else { return }
        let head = Self.head(of: key)
        let which = chunkIndex(for: key, head: head)
        let position = chunks[which].index(of: key, head: head)
        guard position.found else { return }
        chunks[which].remove(at: position.index)
        if chunks[which].keys.isEmpty { chunks.remove(at: which) }
    }

    /// Calls `body` with each entry from `start` on, in key order, until it returns false.
    func forEach(from start: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) rethrows {
        guard !chunks.isEmpty else { return }
        let head = Self.head(of: start)
        let first = chunkIndex(for: start, head: head)
        var offset = chunks[first].index(of: start, head: head).index
        for which in first..<chunks.count {
            let chunk = chunks[which]
            for index in offset..<chunk.keys.count {
                if try !body(chunk.keys[index], chunk.values[index]) { return }
            }
            offset = 0
        }
    }

    func entries(from start: [UInt8]) -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        forEach(from: start) { key, value in
            result.append((key, value))
            return true
        }
        return result
    }
}

/// Whether `left` sorts before `right` in unsigned byte order (a shorter key first when it is
/// a prefix of the longer): `memcmp` on the common part, not an element-by-element generic
/// comparison (which was a tenth of an audit's replay).
@inline(__always)
func bytesPrecede(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    let common = min(left.count, right.count)
    let order = left.withUnsafeBytes { l in
        right.withUnsafeBytes { r in common == 0 ? 0 : memcmp(l.baseAddress!, r.baseAddress!, common) }
    }
    return order != 0 ? order < 0 : left.count < right.count
}
