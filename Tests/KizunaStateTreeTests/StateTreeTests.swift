import KizunaCore
import KizunaStorage
import KizunaStateTree
import Testing

@Suite struct StateTreeTests {
    @Test func emptyTreeRootIsZero() throws {
        let tree = StateTree(store: MemoryStore())
        #expect(try tree.root() == .zero)
        #expect(StateTree.computeRoot(of: [:]) == .zero)
        let (root, batch) = try tree.update([])
        #expect(root == .zero)
        #expect(batch.isEmpty)
        let key = hash([1, 2, 3])
        let proof = try tree.proof(for: key)
        #expect(proof == StateProof(siblings: [], leaf: nil))
        #expect(proof.verify(root: .zero, key: key, valueHash: nil))
        #expect(!proof.verify(root: .zero, key: key, valueHash: hash([9])))
        #expect(try tree.valueHash(for: key) == nil)
        #expect(try tree.verifyStoredTree().nodeCount == 0)
    }

    @Test func singleKeyIsALeafAtTheRoot() throws {
        let tree = StateTree(store: MemoryStore())
        let key = Hash.tagged(.stateKey, Array("alice".utf8))
        let value = Hash.tagged(.stateValue, [42])
        let (root, batch) = try tree.update([(key, value)])
        #expect(root == StateTree.leafHash(key: key, valueHash: value))
        #expect(root == StateTree.computeRoot(of: [key: value]))
        // One page at the root (key 0x50 ‖ depth 0) holding one node in slot 0 (ADR 0023).
        #expect(batch.operations == [.put(family: .stateTree, key: [0x50, 0, 0], value: [0x00, 0x01, 0x02] + key.bytes + value.bytes)])
        try tree.store.write(batch, sync: false)
        #expect(try tree.root() == root)
        #expect(try tree.valueHash(for: key) == value)
        let proof = try tree.proof(for: key)
        #expect(proof.siblings.isEmpty)
        #expect(proof.verify(root: root, key: key, valueHash: value))

        // Deleting it empties the tree and the store.
        let (emptied, deletes) = try tree.update([(key, nil)])
        #expect(emptied == .zero)
        #expect(deletes.operations == [.delete(family: .stateTree, key: [0x50, 0, 0])])
        try tree.store.write(deletes, sync: false)
        #expect(try tree.root() == .zero)
    }

    @Test func rootHashingMatchesTheDocumentedFormula() throws {
        // Two keys differing in bit 0: root = node(leaf(left), leaf(right)).
        let left = hash([0x00, 1])
        let right = hash([0x80, 2])
        let value = hash([7])
        let expected = StateTree.nodeHash(
            left: StateTree.leafHash(key: left, valueHash: value),
            right: StateTree.leafHash(key: right, valueHash: value)
        )
        #expect(StateTree.computeRoot(of: [left: value, right: value]) == expected)
        let tree = StateTree(store: MemoryStore())
        #expect(try apply(tree, [(right, value), (left, value)]) == expected)
        // The documented hash preimages.
        #expect(StateTree.leafHash(key: left, valueHash: value) == Hash.sha256(Array("KIZUNA/STATELEAF/V1".utf8) + [0] + left.bytes + value.bytes))
        #expect(StateTree.nodeHash(left: left, right: value) == Hash.sha256(Array("KIZUNA/STATENODE/V1".utf8) + [0] + left.bytes + value.bytes))
    }

    @Test func twoKeysSharingAPrefixHangBelowAChainOfNodes() throws {
        // Both start with 0b0101_1100_1010 and differ at bit 12.
        let first = hash([0x5C, 0xA0])
        let second = hash([0x5C, 0xA8])
        let value = hash([1])
        let store = MemoryStore()
        let tree = StateTree(store: store)
        let root = try apply(tree, [(first, value), (second, value)])
        #expect(root == StateTree.computeRoot(of: [first: value, second: value]))
        let check = try tree.verifyStoredTree()
        #expect(check.leafCount == 2)
        #expect(check.nodeCount == 13 + 2)
        let proof = try tree.proof(for: first)
        #expect(proof.siblings.count == 13)
        #expect(proof.siblings.dropLast().allSatisfy { $0 == .zero })
        #expect(proof.siblings.last == StateTree.leafHash(key: second, valueHash: value))
        #expect(proof.verify(root: root, key: first, valueHash: value))

        // Deleting one collapses the chain: the other leaf moves back to the root.
        let collapsed = try apply(tree, [(second, nil)])
        #expect(collapsed == StateTree.leafHash(key: first, valueHash: value))
        #expect(store.allEntries(in: .stateTree).map(\.key) == [[0x50, 0, 0]])
    }

    @Test func keysDifferingOnlyInTheLastBitReachTheMaximumDepth() throws {
        var bytes = [UInt8](repeating: 0xA5, count: 32)
        let first = Hash(bytes)!
        bytes[31] ^= 0x01
        let second = Hash(bytes)!
        let third = hash([0x00])
        let value = hash([3])
        let store = MemoryStore()
        let tree = StateTree(store: store)
        let root = try apply(tree, [(first, value), (second, value), (third, value)])
        #expect(root == StateTree.computeRoot(of: [first: value, second: value, third: value]))
        let check = try tree.verifyStoredTree()
        #expect(check.leafCount == 3)
        #expect(check.nodeCount == 256 + 3)
        for key in [first, second] {
            let proof = try tree.proof(for: key)
            #expect(proof.siblings.count == 256)
            #expect(proof.verify(root: root, key: key, valueHash: value))
            #expect(try StateProof(decoding: proof.encoded) == proof)
        }
        // A key on the same long path but absent: proof of absence ends at an empty subtree.
        bytes[20] ^= 0x10
        let absent = Hash(bytes)!
        let absence = try tree.proof(for: absent)
        #expect(absence.leaf == nil)
        #expect(absence.verify(root: root, key: absent, valueHash: nil))
        // Removing one collapses the whole chain.
        let collapsed = try apply(tree, [(second, nil)])
        #expect(collapsed == StateTree.computeRoot(of: [first: value, third: value]))
        #expect(try tree.verifyStoredTree().nodeCount == 3)
    }

    @Test func incrementalUpdatesEqualTheFromScratchRoot() throws {
        var random = SplitMix64(seed: 0x4B49_5A55_4E41)
        let store = MemoryStore()
        let tree = StateTree(store: store)
        var model: [Hash: Hash] = [:]
        var keys: [Hash] = []  // every key ever inserted, in insertion order (deterministic)
        for round in 0..<60 {
            var updates: [(key: Hash, valueHash: Hash?)] = []
            var touched = Set<Hash>()
            let size = round % 10 == 0 ? 300 : 1 + random.below(40)
            for _ in 0..<size {
                let kind = random.below(10)
                let key: Hash
                var value: Hash? = random.hash()
                if kind < 4 || keys.isEmpty {
                    key = random.hash()  // insert a new key
                    keys.append(key)
                } else if kind < 7 {
                    key = keys[random.below(keys.count)]  // update (or re-insert) an old key
                } else if kind < 9 {
                    key = keys[random.below(keys.count)]  // delete an old key (maybe already gone)
                    value = nil
                } else {
                    key = random.hash()  // delete a key that never existed
                    value = nil
                }
                guard touched.insert(key).inserted else { continue }
                updates.append((key, value))
            }
            let (root, batch) = try tree.update(updates)
            apply(&model, updates)
            #expect(root == StateTree.computeRoot(of: model), "round \(round)")
            try store.write(batch, sync: false)
            #expect(try tree.root() == root)
            let check = try tree.verifyStoredTree()
            #expect(check.root == root)
            #expect(check.leafCount == model.count)
        }
        #expect(model.count > 500)
        // Delete everything: the store empties.
        let root = try apply(tree, model.keys.sorted().map { ($0, nil) })
        #expect(root == .zero)
        #expect(store.allEntries(in: .stateTree).isEmpty)
    }

    @Test func rootAndStoredNodesDependOnlyOnTheContent() throws {
        var random = SplitMix64(seed: 7)
        let target = randomEntries(400, &random)
        let extra = randomEntries(150, &random)
        let expected = StateTree.computeRoot(of: target)

        // (a) All at once.
        let storeA = MemoryStore()
        #expect(try apply(StateTree(store: storeA), inserts(target)) == expected)

        // (b) One at a time, in a shuffled order.
        let storeB = MemoryStore()
        var order = inserts(target)
        random.shuffle(&order)
        var rootB = Hash.zero
        for update in order { rootB = try apply(StateTree(store: storeB), [update]) }
        #expect(rootB == expected)

        // (c) A superset, then the extras deleted in several batches.
        let storeC = MemoryStore()
        var deletes = extra.keys.sorted().map { (key: $0, valueHash: Hash?.none) }
        random.shuffle(&deletes)
        try apply(StateTree(store: storeC), inserts(target.merging(extra) { first, _ in first }))
        try apply(StateTree(store: storeC), Array(deletes[..<50]))
        let rootC = try apply(StateTree(store: storeC), Array(deletes[50...]))
        #expect(rootC == expected)

        // (d) Other values first, then overwritten, mixed with inserts of the rest.
        let storeD = MemoryStore()
        let sortedTarget = inserts(target)
        let firstHalf = sortedTarget[..<200].map { (key: $0.key, valueHash: Optional(random.hash())) }
        try apply(StateTree(store: storeD), firstHalf)
        let rootD = try apply(StateTree(store: storeD), sortedTarget)
        #expect(rootD == expected)

        // The stored nodes are identical too, byte for byte.
        let nodesA = storeA.allEntries(in: .stateTree)
        for store in [storeB, storeC, storeD] {
            let nodes = store.allEntries(in: .stateTree)
            #expect(nodes.count == nodesA.count)
            let identical = nodes.elementsEqual(nodesA) { $0.key == $1.key && $0.value == $1.value }
            #expect(identical)
        }
    }

    @Test func theOrderOfUpdatesInACallDoesNotMatter() throws {
        var random = SplitMix64(seed: 11)
        let store = MemoryStore()
        let tree = StateTree(store: store)
        let initial = randomEntries(300, &random)
        try apply(tree, inserts(initial))
        let existing = initial.keys.sorted()
        var updates: [(key: Hash, valueHash: Hash?)] = []
        for key in existing[..<40] { updates.append((key, random.hash())) }
        for key in existing[40..<80] { updates.append((key, nil)) }
        for _ in 0..<40 { updates.append((random.hash(), random.hash())) }
        let (root, batch) = try tree.update(updates)
        for _ in 0..<5 {
            random.shuffle(&updates)
            let (otherRoot, otherBatch) = try tree.update(updates)
            #expect(otherRoot == root)
            #expect(otherBatch == batch)
        }
        // Batch operations come sorted by storage key, at most one per key.
        let keys = batch.operations.map { operation -> [UInt8] in
            switch operation {
            case .put(_, let key, _), .delete(_, let key): key
            }
        }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
    }

    @Test func duplicateKeysInOneCallAreRejected() throws {
        let tree = StateTree(store: MemoryStore())
        let key = hash([5])
        #expect(throws: StateTreeError.duplicateKey(key)) {
            try tree.update([(key, hash([1])), (hash([6]), nil), (key, nil)])
        }
    }

    @Test func deletingAnAbsentKeyOrRewritingTheSameValueChangesNothing() throws {
        var random = SplitMix64(seed: 12)
        let store = CountingStore()
        let tree = StateTree(store: store)
        let entries = randomEntries(1000, &random)
        let root = try apply(tree, inserts(entries))
        for _ in 0..<20 {
            let (same, batch) = try tree.update([(random.hash(), nil)])
            #expect(same == root)
            #expect(batch.isEmpty)
        }
        let some = entries.keys.sorted()[..<10].map { (key: $0, valueHash: entries[$0]) }
        let (same, batch) = try tree.update(some)
        #expect(same == root)
        #expect(batch.isEmpty)
    }

    @Test func updatesWriteAndReadInProportionToTouchedKeys() throws {
        var random = SplitMix64(seed: 20_000)
        let store = CountingStore()
        let tree = StateTree(store: store)
        let entries = randomEntries(20_000, &random)
        var model = entries
        try apply(tree, inserts(entries))
        let keys = entries.keys.sorted()

        // The tree is shallow: log2(20,000) ≈ 14.3.
        var deepest = 0
        for key in keys[..<500] { deepest = max(deepest, try tree.proof(for: key).siblings.count) }
        #expect(deepest <= 40)

        func check(_ updates: [(key: Hash, valueHash: Hash?)], perKey bound: Int) throws {
            let before = store.readCount
            let (root, batch) = try tree.update(updates)
            let reads = store.readCount - before
            #expect(batch.count <= bound * updates.count, "writes \(batch.count) for \(updates.count) keys")
            #expect(reads <= bound * updates.count, "reads \(reads) for \(updates.count) keys")
            try store.write(batch, sync: false)
            apply(&model, updates)
            #expect(root == StateTree.computeRoot(of: model))
        }
        try check([(keys[17], random.hash())], perKey: 64)  // change one value
        try check([(random.hash(), random.hash())], perKey: 64)  // insert one key
        try check([(keys[99], nil)], perKey: 64)  // delete one key
        try check(keys[1000..<1100].map { ($0, random.hash()) }, perKey: 64)  // 100 values
        try check(keys[2000..<2100].map { ($0, nil) }, perKey: 64)  // 100 deletes
        #expect(try tree.verifyStoredTree().leafCount == model.count)
    }

    @Test func corruptedNodesAreDetected() throws {
        var random = SplitMix64(seed: 13)
        let store = MemoryStore()
        let tree = StateTree(store: store)
        let entries = randomEntries(50, &random)
        try apply(tree, inserts(entries))
        // Flip a byte of some leaf's value, inside its page (ADR 0023: 2 bytes of slot map,
        // then 65 bytes a node).
        let pages = store.allEntries(in: .stateTree)
        let page = try #require(pages.last { page in
            stride(from: 2, to: page.value.count, by: 65).contains { page.value[$0] == 0x02 }
        })
        let leafOffset = try #require(Array(stride(from: 2, to: page.value.count, by: 65)).last { page.value[$0] == 0x02 })
        var tampered = page.value
        tampered[leafOffset + 64] ^= 0x01
        var batch = WriteBatch()
        batch.put(tampered, for: page.key, in: .stateTree)
        try store.write(batch, sync: false)
        let leafKey = Hash(page.value[(leafOffset + 1)..<(leafOffset + 33)])!
        #expect(throws: StateTreeError.self) { try tree.proof(for: leafKey) }
        #expect(throws: StateTreeError.self) { try tree.update([(leafKey, nil)]) }
        #expect(throws: StateTreeError.self) { try tree.verifyStoredTree() }
        // A malformed root page: a node of an unknown kind.
        var malformed = WriteBatch()
        malformed.put([0x00, 0x01, 0x07] + [UInt8](repeating: 1, count: 64), for: [0x50, 0, 0], in: .stateTree)
        try store.write(malformed, sync: false)
        #expect(throws: StateTreeError.self) { try tree.root() }
    }
}
