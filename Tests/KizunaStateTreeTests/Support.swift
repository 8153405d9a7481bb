import KizunaCore
import KizunaStorage
import KizunaStateTree
import Synchronization

/// SplitMix64: a tiny deterministic PRNG, so every test run sees the same keys.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0); the modulo bias is irrelevant here.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func hash() -> Hash {
        var bytes: [UInt8] = []
        for _ in 0..<4 {
            let word = next()
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return Hash(bytes)!
    }

    /// Fisher–Yates with this generator (not the standard library's, whose algorithm may change).
    mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for index in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(index, below(index + 1))
        }
    }
}

/// A store that counts `get` calls, to check that updates read only the touched paths.
final class CountingStore: KeyValueStore {
    let inner = MemoryStore()
    let reads = Atomic<Int>(0)

    func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? {
        reads.add(1, ordering: .relaxed)
        return try inner.get(key, in: family)
    }

    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        try inner.write(batch, sync: sync)
    }

    func scan(
        _ family: ColumnFamily,
        from start: [UInt8],
        prefix: [UInt8],
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool
    ) throws {
        try inner.scan(family, from: start, prefix: prefix, body)
    }

    var readCount: Int { reads.load(ordering: .relaxed) }
}

/// Applies `updates` to the tree's store and returns the new root.
@discardableResult
func apply(_ tree: StateTree, _ updates: [(key: Hash, valueHash: Hash?)]) throws -> Hash {
    let (root, batch) = try tree.update(updates)
    try tree.store.write(batch, sync: false)
    return root
}

/// Applies updates to a model dictionary.
func apply(_ model: inout [Hash: Hash], _ updates: [(key: Hash, valueHash: Hash?)]) {
    for update in updates { model[update.key] = update.valueHash }
}

/// A hash whose bytes are given explicitly (the rest zero).
func hash(_ leading: [UInt8]) -> Hash {
    Hash(leading + [UInt8](repeating: 0, count: 32 - leading.count))!
}

/// `random` random distinct keys with random values.
func randomEntries(_ count: Int, _ random: inout SplitMix64) -> [Hash: Hash] {
    var entries: [Hash: Hash] = [:]
    while entries.count < count { entries[random.hash()] = random.hash() }
    return entries
}

/// Entries as updates, in key order.
func inserts(_ entries: [Hash: Hash]) -> [(key: Hash, valueHash: Hash?)] {
    entries.sorted { $0.key < $1.key }.map { (key: $0.key, valueHash: Optional($0.value)) }
}
