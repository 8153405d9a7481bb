import Synchronization

/// An in-memory `KeyValueStore` for tests and the simulator. Ordered by unsigned bytes, like
/// RocksDB's default comparator. Thread-safe.
public final class MemoryStore: KeyValueStore {
    private let families: Mutex<[ColumnFamily: SortedByteMap]>

    public init() {
        var initial: [ColumnFamily: SortedByteMap] = [:]
        for family in ColumnFamily.allCases { initial[family] = SortedByteMap() }
        families = Mutex(initial)
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
        // Copy the range first so `body` may call back into the store.
        let snapshot = families.withLock { $0[family]!.entries(from: start) }
        for (key, value) in snapshot {
            if !prefix.isEmpty && !key.starts(with: prefix) { return }
            if try !body(key, value) { return }
        }
    }

    /// Every entry of every family; used by tests that corrupt or compare stores.
    public func allEntries(in family: ColumnFamily) -> [(key: [UInt8], value: [UInt8])] {
        families.withLock { $0[family]!.entries(from: []) }
    }
}

/// A sorted array map keyed by bytes in unsigned lexicographic order.
struct SortedByteMap {
    private var keys: [[UInt8]] = []
    private var values: [[UInt8]] = []

    private func index(of key: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle].lexicographicallyPrecedes(key) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return (low, low < keys.count && keys[low] == key)
    }

    func value(for key: [UInt8]) -> [UInt8]? {
        let position = index(of: key)
        return position.found ? values[position.index] : nil
    }

    mutating func set(_ value: [UInt8], for key: [UInt8]) {
        let position = index(of: key)
        if position.found {
            values[position.index] = value
        } else {
            keys.insert(key, at: position.index)
            values.insert(value, at: position.index)
        }
    }

    mutating func remove(_ key: [UInt8]) {
        let position = index(of: key)
        if position.found {
            keys.remove(at: position.index)
            values.remove(at: position.index)
        }
    }

    func entries(from start: [UInt8]) -> [(key: [UInt8], value: [UInt8])] {
        let first = index(of: start).index
        return (first..<keys.count).map { (keys[$0], values[$0]) }
    }
}
