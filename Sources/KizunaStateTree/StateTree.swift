public import KizunaCore
public import KizunaStorage

/// The state commitment: an authenticated binary sparse Merkle radix tree over 256-bit key
/// hashes, in the manner of Diem's Jellyfish Merkle tree (binary, one version).
///
/// - An empty subtree hashes to `Hash.zero`.
/// - A subtree holding exactly one leaf *is* that leaf: the leaf sits at the shortest prefix
///   of its key that no other key shares.
/// - Every other subtree (two or more leaves) is an internal node with two children.
///
/// So the root depends only on the set of (key, value) pairs, never on the order of the
/// updates that produced it. Nodes are stored in column family `.stateTree`, keyed by their
/// position; the store always holds exactly the nodes of the current tree.
///
/// `update` reads only the nodes on the paths of the keys it touches (plus at most one
/// sibling per path when a subtree collapses), so a block's cost is proportional to the
/// keys it touches times the depth (≈ log2 of the number of keys), never to the state size.
///
/// See `docs/state-commitment.md` for the exact format.
public struct StateTree: Sendable {
    public let store: any KeyValueStore
    /// The upper levels kept in memory across updates (ADR 0013); nil reads every node from
    /// the store. It never changes a result, only what is read.
    public let cache: StateTreeCache?

    public init(store: any KeyValueStore, cache: StateTreeCache? = nil) {
        self.store = store
        self.cache = cache
    }

    /// Root of the tree as currently stored (`Hash.zero` when empty).
    public func root() throws -> Hash {
        guard let node = try readNode(at: .root) else { return StateTree.emptyRoot }
        return node.hash
    }

    /// The value hash stored for `key`, or nil when the key is absent.
    public func valueHash(for key: Hash) throws -> Hash? {
        guard var node = try readNode(at: .root) else { return nil }
        var position = NodePosition.root
        while true {
            switch node {
            case .leaf(let leafKey, let valueHash):
                return leafKey == key ? valueHash : nil
            case .internal(let left, let right):
                let bit = key.bit(position.depth)
                let next = bit == 0 ? left : right
                if next == .zero { return nil }
                position = position.child(bit)
                node = try readChild(at: position, expecting: next)
            }
        }
    }

    /// Applies `updates` (`valueHash` nil = delete; deleting an absent key is a no-op) and
    /// returns the new root plus the node writes and deletes to put in the same `WriteBatch`
    /// as the block. Nothing is written here: the caller writes the batch, and until it does,
    /// `root()` and further calls see the old tree.
    ///
    /// Keys must be distinct (else `StateTreeError.duplicateKey`); the order of `updates`
    /// does not matter. The batch's operations are sorted by storage key, one per key.
    public func update(_ updates: [(key: Hash, valueHash: Hash?)]) throws -> (root: Hash, batch: WriteBatch) {
        let sorted = updates.map { Update(key: $0.key, valueHash: $0.valueHash) }.sorted { $0.key < $1.key }
        for index in sorted.indices.dropFirst() where sorted[index - 1].key == sorted[index].key {
            throw StateTreeError.duplicateKey(sorted[index].key)
        }
        let existing = try readNode(at: .root)
        guard !sorted.isEmpty else {
            return (existing?.hash ?? StateTree.emptyRoot, WriteBatch())
        }
        var updater = Updater(tree: self)
        if let existing { updater.old[NodePosition.root.storageKey] = existing.encoded }
        let result = try updater.visit(at: .root, existing: existing, updates: sorted[...])
        let root = updater.place(result, at: .root)
        return (root, updater.batch())
    }

    /// A proof of `key`'s value (or of its absence) against the current root.
    public func proof(for key: Hash) throws -> StateProof {
        guard var node = try readNode(at: .root) else { return StateProof(siblings: [], leaf: nil) }
        var position = NodePosition.root
        var siblings: [Hash] = []
        while true {
            switch node {
            case .leaf(let leafKey, let valueHash):
                return StateProof(siblings: siblings, leaf: StateProof.Leaf(key: leafKey, valueHash: valueHash))
            case .internal(let left, let right):
                let bit = key.bit(position.depth)
                siblings.append(bit == 0 ? right : left)
                let next = bit == 0 ? left : right
                if next == .zero { return StateProof(siblings: siblings, leaf: nil) }
                position = position.child(bit)
                node = try readChild(at: position, expecting: next)
            }
        }
    }

    /// Walks the whole stored tree (cost proportional to the state: for startup checks and
    /// tests, never per block) and checks every invariant: each node decodes, hashes to what
    /// its parent records, leaves sit under their own key's prefix, internal nodes hold at
    /// least two leaves, and the column family holds no node outside the tree.
    /// Returns the root, the number of leaves and the number of stored nodes.
    public func verifyStoredTree() throws -> (root: Hash, leafCount: Int, nodeCount: Int) {
        var nodeCount = 0
        // Returns (hash, leaves) of the subtree at `position`.
        func walk(_ position: NodePosition, expecting: Hash?) throws -> (hash: Hash, leaves: Int) {
            guard let node = try readNode(at: position, expecting: expecting) else {
                return (StateTree.emptyRoot, 0)
            }
            nodeCount += 1
            switch node {
            case .leaf:
                return (node.hash, 1)
            case .internal(let left, let right):
                guard position.depth < StateTree.maxDepth else {
                    throw corrupt(position, "internal node at the maximum depth")
                }
                let leftPart = left == .zero ? (hash: StateTree.emptyRoot, leaves: 0) : try walk(position.child(0), expecting: left)
                let rightPart = right == .zero ? (hash: StateTree.emptyRoot, leaves: 0) : try walk(position.child(1), expecting: right)
                guard leftPart.leaves + rightPart.leaves >= 2 else {
                    throw corrupt(position, "internal node with fewer than two leaves below it")
                }
                return (node.hash, leftPart.leaves + rightPart.leaves)
            }
        }
        let (root, leaves) = try walk(.root, expecting: nil)
        var stored = 0
        try store.scan(.stateTree, from: [], prefix: []) { _, _ in
            stored += 1
            return true
        }
        guard stored == nodeCount else {
            throw StateTreeError.corruptNode(
                position: "",
                reason: "column family holds \(stored) nodes but the tree has \(nodeCount)"
            )
        }
        return (root, leaves, nodeCount)
    }

    // MARK: - Reading nodes

    /// Reads and decodes the node at `position`; checks it sits where its content says and,
    /// when `expecting` is given, that it hashes to it (and exists).
    func readNode(at position: NodePosition, expecting: Hash? = nil) throws -> StoredNode? {
        guard let bytes = try store.get(position.storageKey, in: .stateTree) else {
            if expecting != nil { throw corrupt(position, "missing node") }
            return nil
        }
        guard let node = StoredNode(decoding: bytes) else { throw corrupt(position, "malformed node") }
        switch node {
        case .leaf(let key, _):
            guard position.contains(key) else { throw corrupt(position, "leaf outside its key's path") }
        case .internal:
            guard position.depth < StateTree.maxDepth else { throw corrupt(position, "internal node too deep") }
        }
        if let expecting, node.hash != expecting { throw corrupt(position, "hash differs from the parent's record") }
        return node
    }

    /// Reads the node at `position`, which its parent records as `expecting`: from the cache
    /// when it holds that node there, else from the store (checked, then kept in the cache).
    func readChild(at position: NodePosition, expecting: Hash) throws -> StoredNode {
        if let node = cache?.node(at: position, hash: expecting) { return node }
        guard let node = try readNode(at: position, expecting: expecting) else { throw corrupt(position, "missing node") }
        cache?.remember(node, hash: expecting, at: position)
        return node
    }
}

func corrupt(_ position: NodePosition, _ reason: String) -> StateTreeError {
    .corruptNode(position: position.storageKey.hexString, reason: reason)
}

/// One update, sorted by key.
struct Update {
    let key: Hash
    let valueHash: Hash?
}

/// The state of a subtree after an update, before it is placed.
enum Subtree {
    case empty
    /// A single leaf; its parent decides where it is stored.
    case leaf(key: Hash, valueHash: Hash)
    /// An internal node already stored (new or unchanged) at its position.
    case node(Hash)
    /// A subtree no update reached and that may be a leaf or an internal node: read it only
    /// if its sibling became empty (then a leaf must move up).
    case untouched(Hash)
}

/// One `update` call: the nodes it read and the nodes it places, by storage key.
struct Updater {
    let tree: StateTree
    /// Encoded nodes read from the store that the update may move or delete.
    var old: [[UInt8]: [UInt8]] = [:]
    /// Encoded nodes of the new tree on the touched paths.
    var new: [[UInt8]: [UInt8]] = [:]

    init(tree: StateTree) {
        self.tree = tree
    }

    /// The subtree at `position`, whose stored node is `existing`, after `updates` (sorted,
    /// non-empty, all under `position`).
    mutating func visit(at position: NodePosition, existing: StoredNode?, updates: ArraySlice<Update>) throws -> Subtree {
        switch existing {
        case .internal(let left, let right):
            let split = splitIndex(updates, bit: position.depth)
            let lower = updates[..<split]
            let upper = updates[split...]
            var leftResult = try descend(position.child(0), hash: left, updates: lower)
            var rightResult = try descend(position.child(1), hash: right, updates: upper)
            // A side that was empty and stays empty leaves the other side as it was: an
            // internal node (the old tree had at least two leaves here), so no read is needed.
            if left == .zero, case .empty = leftResult, case .untouched(let hash) = rightResult {
                rightResult = .node(hash)
            }
            if right == .zero, case .empty = rightResult, case .untouched(let hash) = leftResult {
                leftResult = .node(hash)
            }
            return try combine(at: position, leftResult, rightResult)
        case .leaf(let key, let valueHash):
            // Rebuild this subtree from the leaf plus the insertions.
            var entries = insertions(updates)
            let overridden = updates.contains { $0.key == key }
            if !overridden {
                let index = entries.firstIndex { key < $0.key } ?? entries.endIndex
                entries.insert((key, valueHash), at: index)
            }
            return try build(at: position, entries[...])
        case nil:
            return try build(at: position, insertions(updates)[...])
        }
    }

    /// The subtree of a child recorded as `hash` in its parent, after `updates`.
    mutating func descend(_ position: NodePosition, hash: Hash, updates: ArraySlice<Update>) throws -> Subtree {
        if updates.isEmpty { return hash == .zero ? .empty : .untouched(hash) }
        var existing: StoredNode?
        if hash != .zero {
            let node = try tree.readChild(at: position, expecting: hash)
            old[position.storageKey] = node.encoded
            existing = node
        }
        return try visit(at: position, existing: existing, updates: updates)
    }

    /// The subtree holding exactly `entries` (sorted, distinct, all under `position`), built
    /// from nothing: no node is stored below `position`.
    mutating func build(at position: NodePosition, _ entries: ArraySlice<(key: Hash, valueHash: Hash)>) throws -> Subtree {
        switch entries.count {
        case 0:
            return .empty
        case 1:
            let entry = entries[entries.startIndex]
            return .leaf(key: entry.key, valueHash: entry.valueHash)
        default:
            let depth = position.depth
            var low = entries.startIndex
            var high = entries.endIndex
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].key.bit(depth) == 0 { low = middle + 1 } else { high = middle }
            }
            let left = try build(at: position.child(0), entries[..<low])
            let right = try build(at: position.child(1), entries[low...])
            return try combine(at: position, left, right)
        }
    }

    /// The subtree at `position` with children `left` and `right`: empty, a leaf moved up,
    /// or an internal node stored here.
    mutating func combine(at position: NodePosition, _ left: Subtree, _ right: Subtree) throws -> Subtree {
        var left = left
        var right = right
        if case .empty = left, case .untouched(let hash) = right {
            right = try resolve(position.child(1), hash: hash)
        }
        if case .empty = right, case .untouched(let hash) = left {
            left = try resolve(position.child(0), hash: hash)
        }
        switch (left, right) {
        case (.empty, .empty):
            return .empty
        case (.empty, .leaf(let key, let valueHash)), (.leaf(let key, let valueHash), .empty):
            return .leaf(key: key, valueHash: valueHash)
        default:
            let node = StoredNode.internal(left: place(left, at: position.child(0)), right: place(right, at: position.child(1)))
            let hash = node.hash
            new[position.storageKey] = node.encoded
            tree.cache?.remember(node, hash: hash, at: position)
            return .node(hash)
        }
    }

    /// Reads an untouched subtree whose sibling became empty: a leaf moves up (its old place
    /// is deleted), an internal node stays.
    mutating func resolve(_ position: NodePosition, hash: Hash) throws -> Subtree {
        let node = try tree.readChild(at: position, expecting: hash)
        switch node {
        case .leaf(let key, let valueHash):
            old[position.storageKey] = node.encoded
            return .leaf(key: key, valueHash: valueHash)
        case .internal:
            return .node(hash)
        }
    }

    /// Stores `subtree` at `position` if it is a leaf (internal nodes are already stored)
    /// and returns its hash.
    mutating func place(_ subtree: Subtree, at position: NodePosition) -> Hash {
        switch subtree {
        case .empty:
            return StateTree.emptyRoot
        case .leaf(let key, let valueHash):
            let node = StoredNode.leaf(key: key, valueHash: valueHash)
            let hash = node.hash
            new[position.storageKey] = node.encoded
            tree.cache?.remember(node, hash: hash, at: position)
            return hash
        case .node(let hash), .untouched(let hash):
            return hash
        }
    }

    /// The writes: a put for each new or changed node, a delete for each node read that is
    /// no longer part of the tree, sorted by storage key.
    func batch() -> WriteBatch {
        var changes: [(key: [UInt8], value: [UInt8]?)] = []
        for (key, value) in new where old[key] != value { changes.append((key, value)) }
        for key in old.keys where new[key] == nil { changes.append((key, nil)) }
        changes.sort { $0.key.lexicographicallyPrecedes($1.key) }
        var batch = WriteBatch()
        for change in changes {
            if let value = change.value {
                batch.put(value, for: change.key, in: .stateTree)
            } else {
                batch.delete(change.key, in: .stateTree)
            }
        }
        return batch
    }
}

/// The first index in `updates` (sorted, sharing the first `bit` bits) whose key has bit
/// `bit` set.
func splitIndex(_ updates: ArraySlice<Update>, bit: Int) -> Int {
    var low = updates.startIndex
    var high = updates.endIndex
    while low < high {
        let middle = (low + high) / 2
        if updates[middle].key.bit(bit) == 0 { low = middle + 1 } else { high = middle }
    }
    return low
}

/// The updates that insert or replace a value, in key order.
func insertions(_ updates: ArraySlice<Update>) -> [(key: Hash, valueHash: Hash)] {
    updates.compactMap { update in update.valueHash.map { (update.key, $0) } }
}
