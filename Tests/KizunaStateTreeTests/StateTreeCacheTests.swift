import KizunaCore
import KizunaStorage
import KizunaStateTree
import Testing

/// The upper levels kept in memory (ADR 0013): the same roots, batches and proofs as without
/// them, whatever was left in the cache by updates never written or by another store, and
/// fewer store reads.
@Suite struct StateTreeCacheTests {
    @Test func sameRootsBatchesAndProofsAsWithoutTheCache() throws {
        var random = SplitMix64(seed: 1013)
        let plain = StateTree(store: MemoryStore())
        let cache = StateTreeCache(levels: 6)
        let cached = StateTree(store: MemoryStore(), cache: cache)
        var model: [Hash: Hash] = [:]
        for round in 0..<40 {
            var updates: [(key: Hash, valueHash: Hash?)] = []
            var seen = Set<Hash>()
            let keys = model.keys.sorted()
            while updates.count < 1 + round * 7 % 150 {
                let kind = updates.count % 5
                let key = kind < 2 || keys.count < 200 ? random.hash() : keys[random.below(keys.count)]
                guard seen.insert(key).inserted else { continue }
                updates.append((key, kind == 4 ? nil : random.hash()))
            }
            // An update computed and never written (a proposal that lost its round) leaves
            // its nodes in the cache; the next update must not use them.
            random.shuffle(&updates)
            _ = try cached.update(updates.map { ($0.key, Optional(random.hash())) })
            let expected = try plain.update(updates)
            let got = try cached.update(updates)
            #expect(got.root == expected.root)
            #expect(got.batch.operations == expected.batch.operations)
            try plain.store.write(expected.batch, sync: false)
            try cached.store.write(got.batch, sync: false)
            apply(&model, updates)
            #expect(got.root == StateTree.computeRoot(of: model))
            for key in updates.prefix(5).map(\.key) {
                #expect(try cached.proof(for: key) == plain.proof(for: key))
                #expect(try cached.valueHash(for: key) == model[key])
            }
        }
        #expect(cache.hits > 0)
        #expect(try cached.verifyStoredTree().root == plain.root())
    }

    @Test func oneCacheSharedByTwoStoresGivesEachItsOwnRoot() throws {
        var random = SplitMix64(seed: 7)
        let cache = StateTreeCache(levels: 8)
        let first = StateTree(store: MemoryStore(), cache: cache)
        let second = StateTree(store: MemoryStore(), cache: cache)
        var firstModel: [Hash: Hash] = [:]
        var secondModel: [Hash: Hash] = [:]
        for _ in 0..<10 {
            let common = (0..<50).map { _ in (key: random.hash(), valueHash: Optional(random.hash())) }
            // The same keys with different values in each store: same positions, other hashes.
            let other = common.map { (key: $0.key, valueHash: Optional(random.hash())) }
            #expect(try apply(first, common) != apply(second, other))
            apply(&firstModel, common)
            apply(&secondModel, other)
            #expect(try first.root() == StateTree.computeRoot(of: firstModel))
            #expect(try second.root() == StateTree.computeRoot(of: secondModel))
        }
    }

    @Test func upperLevelsAreReadFromMemory() throws {
        var random = SplitMix64(seed: 20_000)
        let entries = randomEntries(20_000, &random)
        let store = CountingStore()
        let cache = StateTreeCache(levels: 16)
        let cached = StateTree(store: store, cache: cache)
        try apply(cached, inserts(entries))
        let keys = entries.keys.sorted()
        func block() -> [(key: Hash, valueHash: Hash?)] {
            var seen = Set<Hash>()
            var updates: [(key: Hash, valueHash: Hash?)] = []
            while updates.count < 100 {
                let key = keys[random.below(keys.count)]
                if seen.insert(key).inserted { updates.append((key, random.hash())) }
            }
            return updates
        }
        let updates = block()
        let plainBefore = store.readCount
        let plain = try StateTree(store: store).update(updates)
        let plainReads = store.readCount - plainBefore
        let cachedBefore = store.readCount
        let withCache = try cached.update(updates)
        let cachedReads = store.readCount - cachedBefore
        #expect(withCache.root == plain.root)
        // ≈ 15 levels in pages of 4 (ADR 0023): without the cache a 100-key block reads the
        // root page, the 16 pages below it and ≈ 2 more pages per key; with the pages above
        // depth 16 in memory, only the root page (read without a hash to check it against)
        // and the few pages at depth 16.
        #expect(plainReads > 200)
        #expect(cachedReads < plainReads / 3)
        #expect(cache.hits > 0)
    }

    @Test func levelsAreBounded() {
        #expect(StateTreeCache().levels == StateTreeCache.levelsDefault)
        #expect(StateTreeCache(levels: 0).levels == 0)
    }
}
