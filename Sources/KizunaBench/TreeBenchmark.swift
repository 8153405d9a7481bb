public import KizunaCore
import KizunaConsensus
import KizunaRocksDB
import KizunaStateTree
import KizunaStorage
import Dispatch
import Foundation
import Synchronization

/// The state commitment alone (`kizuna bench tree`): the cost of one block's tree update on
/// RocksDB at several state sizes, with the tree's upper levels read from the store every
/// time and kept in memory (ADR 0013), in the same run on the same store. Then, at every
/// size, the incremental root is checked against the direct definition
/// (`StateTree.computeRoot`) and proofs of presence and absence are checked against it.
///
/// Keys and values are random 32-byte hashes from a fixed seed. A block touches `blockKeys`
/// keys: 80% change an existing value, 10% insert a new key, 10% delete one, so the size
/// stays put.
public struct TreeBenchmark: Sendable {
    public var sizes: [Int]
    public var blockKeys: Int
    public var blocks: Int
    public var proofs: Int
    public var folder: String
    public var cacheLevels: Int

    /// The node's default and the largest accepted number of levels kept in memory.
    public static let cacheLevelsDefault = StateTreeCache.levelsDefault
    public static let cacheLevelsMax = StateTreeCache.levelsMax

    public init(sizes: [Int], blockKeys: Int, blocks: Int, proofs: Int, folder: String, cacheLevels: Int = TreeBenchmark.cacheLevelsDefault) {
        self.sizes = sizes
        self.blockKeys = max(10, blockKeys)
        self.blocks = max(1, blocks)
        self.proofs = max(0, proofs)
        self.folder = folder
        self.cacheLevels = cacheLevels
    }

    /// One (size, layout) measurement, per touched key.
    public struct Row: Codable, Sendable {
        public var keys: Int
        /// "store" (every node read from RocksDB) or "cache:<levels>".
        public var reading: String
        public var blocks: Int
        public var touchedKeys: Int
        /// `StateTree.update` only (wall clock, and CPU time of the thread).
        public var updateMicrosecondsPerKey: Double
        public var updateCPUMicrosecondsPerKey: Double
        /// Writing the returned batch (not synced).
        public var writeMicrosecondsPerKey: Double
        public var storeReadsPerKey: Double
        public var batchOperationsPerKey: Double
        public var cacheHits: Int
        public var cacheMisses: Int
    }

    public struct SizeCheck: Codable, Sendable {
        public var keys: Int
        public var buildSeconds: Double
        public var storedNodes: Int
        public var rootMatchesDefinition: Bool
        public var presenceProofsVerified: Int
        public var absenceProofsVerified: Int
        public var proofsChecked: Int
        public var averageProofSiblings: Double
        public var averageProofBytes: Double
    }

    public struct Result: Codable, Sendable {
        public var rows: [Row]
        public var checks: [SizeCheck]
    }

    public func run(progress: (String) -> Void) throws -> Result {
        var rows: [Row] = []
        var checks: [SizeCheck] = []
        for size in sizes {
            let path = folder + "/\(size)"
            try? FileManager.default.removeItem(atPath: path)
            let rocks = try RocksDBStore(path: path)
            defer { rocks.close() }
            let store = ReadCountingStore(rocks)
            var state = TreeBenchState(seed: UInt64(size))
            // Built through the cache, as a running node's tree is: its upper levels are warm.
            let cache = StateTreeCache(levels: cacheLevels)
            let buildStart = DispatchTime.now()
            let buildTree = StateTree(store: store, cache: cache)
            while state.keys.count < size {
                let count = min(100_000, size - state.keys.count)
                try store.write(try buildTree.update(state.inserts(count)).batch, sync: false)
                progress("tree \(size): \(state.keys.count) keys")
            }
            rocks.compact()
            let buildSeconds = SingleNodeBenchmark.seconds(since: buildStart)
            progress(String(format: "tree %d: built and compacted in %.1f s", size, buildSeconds))

            for (reading, treeCache) in [("cache:\(cacheLevels)", cache), ("store", nil)] as [(String, StateTreeCache?)] {
                let tree = StateTree(store: store, cache: treeCache)
                // Warm-up blocks: RocksDB's block cache, and the tree's cache when there is one.
                for _ in 0..<3 { try store.write(try tree.update(state.block(blockKeys)).batch, sync: false) }
                let readsBefore = store.reads
                let hitsBefore = treeCache?.hits ?? 0
                let missesBefore = treeCache?.misses ?? 0
                var updateSeconds = 0.0, updateCPU = 0.0, writeSeconds = 0.0, operations = 0
                for _ in 0..<blocks {
                    let updates = state.block(blockKeys)
                    let cpu = LedgerBenchmark.threadCPUSeconds()
                    let start = DispatchTime.now()
                    let (_, batch) = try tree.update(updates)
                    updateSeconds += SingleNodeBenchmark.seconds(since: start)
                    updateCPU += LedgerBenchmark.threadCPUSeconds() - cpu
                    let writeStart = DispatchTime.now()
                    try store.write(batch, sync: false)
                    writeSeconds += SingleNodeBenchmark.seconds(since: writeStart)
                    operations += batch.count
                }
                let touched = Double(blocks * blockKeys)
                let row = Row(
                    keys: size, reading: reading, blocks: blocks, touchedKeys: blocks * blockKeys,
                    updateMicrosecondsPerKey: updateSeconds / touched * 1e6,
                    updateCPUMicrosecondsPerKey: updateCPU / touched * 1e6,
                    writeMicrosecondsPerKey: writeSeconds / touched * 1e6,
                    storeReadsPerKey: Double(store.reads - readsBefore) / touched,
                    batchOperationsPerKey: Double(operations) / touched,
                    cacheHits: (treeCache?.hits ?? 0) - hitsBefore, cacheMisses: (treeCache?.misses ?? 0) - missesBefore
                )
                progress(String(format: "tree %d, %@: update %.1f µs per touched key (%.1f µs CPU), write %.1f µs, %.1f store reads per key",
                                size, reading, row.updateMicrosecondsPerKey, row.updateCPUMicrosecondsPerKey, row.writeMicrosecondsPerKey, row.storeReadsPerKey))
                rows.append(row)
            }
            checks.append(try check(size: size, buildSeconds: buildSeconds, tree: StateTree(store: store, cache: cache), state: &state))
        }
        return Result(rows: rows, checks: checks)
    }

    /// The root against the direct definition, the stored tree's invariants, and `proofs`
    /// proofs of presence and as many of absence against the root.
    private func check(size: Int, buildSeconds: Double, tree: StateTree, state: inout TreeBenchState) throws -> SizeCheck {
        let root = try tree.root()
        var entries: [Hash: Hash] = [:]
        entries.reserveCapacity(state.keys.count)
        for (key, value) in zip(state.keys, state.values) { entries[key] = value }
        let matches = StateTree.computeRoot(of: entries) == root
        let stored = try tree.verifyStoredTree()
        var present = 0, absent = 0, siblings = 0, bytes = 0
        for _ in 0..<proofs {
            let index = Int(state.random.below(UInt64(state.keys.count)))
            let proof = try tree.proof(for: state.keys[index])
            if proof.verify(root: root, key: state.keys[index], valueHash: state.values[index]) { present += 1 }
            siblings += proof.siblings.count
            bytes += proof.encoded.count
            let missing = state.randomHash()
            let absence = try tree.proof(for: missing)
            if entries[missing] == nil, absence.verify(root: root, key: missing, valueHash: nil) { absent += 1 }
            siblings += absence.siblings.count
            bytes += absence.encoded.count
        }
        let count = max(1, 2 * proofs)
        return SizeCheck(keys: size, buildSeconds: buildSeconds, storedNodes: stored.nodeCount,
                         rootMatchesDefinition: matches && stored.root == root && stored.leafCount == state.keys.count,
                         presenceProofsVerified: present, absenceProofsVerified: absent, proofsChecked: 2 * proofs,
                         averageProofSiblings: Double(siblings) / Double(count), averageProofBytes: Double(bytes) / Double(count))
    }
}

/// The live keys and values of the benchmark's tree, and the blocks of updates made on them.
struct TreeBenchState {
    var random: SplitMix64
    var keys: [Hash] = []
    var values: [Hash] = []

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func randomHash() -> Hash {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let word = random.next()
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return Hash(bytes)!
    }

    /// `count` new keys with values, added to the live set.
    mutating func inserts(_ count: Int) -> [(key: Hash, valueHash: Hash?)] {
        (0..<count).map { _ in
            let key = randomHash(), value = randomHash()
            keys.append(key)
            values.append(value)
            return (key, value)
        }
    }

    /// One block: distinct keys, 80% value changes, 10% inserts, 10% deletes.
    mutating func block(_ count: Int) -> [(key: Hash, valueHash: Hash?)] {
        var updates: [(key: Hash, valueHash: Hash?)] = []
        var touched = Set<Hash>()
        while updates.count < count {
            switch updates.count % 10 {
            case 0:
                updates.append(contentsOf: inserts(1))
                touched.insert(keys[keys.count - 1])
            case 1:
                let index = Int(random.below(UInt64(keys.count)))
                guard touched.insert(keys[index]).inserted else { continue }
                updates.append((keys[index], nil))
                keys.swapAt(index, keys.count - 1)
                values.swapAt(index, values.count - 1)
                keys.removeLast()
                values.removeLast()
            default:
                let index = Int(random.below(UInt64(keys.count)))
                guard touched.insert(keys[index]).inserted else { continue }
                let value = randomHash()
                values[index] = value
                updates.append((keys[index], value))
            }
        }
        return updates
    }
}

/// A store that counts `get` calls (the tree's node reads).
final class ReadCountingStore: KeyValueStore {
    let inner: any KeyValueStore
    private let readCount = Atomic<Int>(0)

    init(_ inner: any KeyValueStore) { self.inner = inner }

    var reads: Int { readCount.load(ordering: .relaxed) }

    func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? {
        readCount.add(1, ordering: .relaxed)
        return try inner.get(key, in: family)
    }

    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        try inner.write(batch, sync: sync)
    }

    func scan(_ family: ColumnFamily, from start: [UInt8], prefix: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws {
        try inner.scan(family, from: start, prefix: prefix, body)
    }
}
