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
/// updates that produced it. Nodes are stored in column family `.stateTree` in pages of four
/// levels (`StoredPage`, ADR 0023), keyed by the position of the page's top; the store always
/// holds exactly the pages of the current tree.
///
/// `update` reads only the pages on the paths of the keys it touches (plus at most one
/// sibling per path when a subtree collapses), so a block's cost is proportional to the
/// keys it touches times the depth (≈ log2 of the number of keys, in pages a quarter of
/// that), never to the state size.
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
        var reader = PageReader(tree: self)
        guard let node = try reader.node(at: .root, expecting: nil) else { return StateTree.emptyRoot }
        return node.hash
    }

    /// The value hash stored for `key`, or nil when the key is absent.
    public func valueHash(for key: Hash) throws -> Hash? {
        var reader = PageReader(tree: self)
        guard var node = try reader.node(at: .root, expecting: nil) else { return nil }
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
                node = try reader.child(at: position, expecting: next)
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
        var updater = Updater(tree: self, updates: sorted.count)
        return try updater.run(sorted)
    }

    /// A proof of `key`'s value (or of its absence) against the current root.
    public func proof(for key: Hash) throws -> StateProof {
        var reader = PageReader(tree: self)
        guard var node = try reader.node(at: .root, expecting: nil) else { return StateProof(siblings: [], leaf: nil) }
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
                node = try reader.child(at: position, expecting: next)
            }
        }
    }

    /// Walks the whole stored tree (cost proportional to the state: for startup checks and
    /// tests, never per block) and checks every invariant: each page decodes and is one
    /// well-formed subtree (`StoredPage`), each node hashes to what its parent records, leaves
    /// sit under their own key's prefix, internal nodes hold at least two leaves, and the
    /// column family holds no page outside the tree (nor a node of the binary layout of store
    /// format 2). Returns the root, the number of leaves and the number of nodes.
    public func verifyStoredTree() throws -> (root: Hash, leafCount: Int, nodeCount: Int) {
        var nodeCount = 0
        var pageCount = 0
        // Returns (hash, leaves) of the subtree whose page top is `top`, or nil if absent.
        func walkPage(_ top: NodePosition, expecting: Hash?) throws -> (hash: Hash, leaves: Int)? {
            guard let bytes = try store.get(top.pageStorageKey, in: .stateTree) else {
                if expecting != nil { throw corrupt(top, "missing page") }
                return nil
            }
            let page = try StoredPage(decoding: bytes, at: top)
            pageCount += 1
            // Returns (hash, leaves) of the subtree at `position`, in slot `slot` of `page`.
            func walk(_ slot: Int, _ position: NodePosition) throws -> (hash: Hash, leaves: Int) {
                guard let node = page.nodes[slot] else { throw corrupt(position, "missing node in its page") }
                nodeCount += 1
                switch node {
                case .leaf:
                    return (node.hash, 1)
                case .internal(let left, let right):
                    var leaves = 0
                    for (bit, hash) in [(0, left), (1, right)] where hash != .zero {
                        let child = position.child(bit)
                        if child.isPageTop {
                            leaves += try walkPage(child, expecting: hash)?.leaves ?? 0
                        } else {
                            leaves += try walk(2 * slot + 1 + bit, child).leaves
                        }
                    }
                    guard leaves >= 2 else { throw corrupt(position, "internal node with fewer than two leaves below it") }
                    return (node.hash, leaves)
                }
            }
            let result = try walk(0, top)
            if let expecting, result.hash != expecting { throw corrupt(top, "hash differs from the parent's record") }
            return result
        }
        let (root, leaves) = try walkPage(.root, expecting: nil) ?? (StateTree.emptyRoot, 0)
        var stored = 0
        var binaryLayout = false
        try store.scan(.stateTree, from: [], prefix: []) { key, _ in
            stored += 1
            if key.first != StoredPage.keyTag { binaryLayout = true }
            return !binaryLayout
        }
        guard !binaryLayout else {
            throw StateTreeError.corruptNode(
                position: "",
                reason: "column family holds nodes of the binary layout of store format 2, which this code does not read (ADR 0023)"
            )
        }
        guard stored == pageCount else {
            throw StateTreeError.corruptNode(
                position: "",
                reason: "column family holds \(stored) pages but the tree has \(pageCount)"
            )
        }
        return (root, leaves, nodeCount)
    }
}

/// The pages one operation (a lookup, a proof, an update) has read, by the position of their
/// top. A page is read from the cache or the store once per operation, checked whole when read
/// from the store (`StoredPage.init(decoding:at:)`), and its top's hash compared with what the
/// parent records; a node inside a page read so then needs no hash of its own.
struct PageReader {
    let tree: StateTree
    private(set) var pages: [NodePosition: StoredPage] = [:]

    init(tree: StateTree) {
        self.tree = tree
    }

    /// The node at `position`, whose parent records `expecting` (nil: the root, which may be
    /// absent). Throws `corruptNode` if it is missing or does not match.
    mutating func node(at position: NodePosition, expecting: Hash?) throws -> StoredNode? {
        let top = position.pageTop
        if position == top {
            guard let page = try page(at: top, expecting: expecting) else { return nil }
            return page.top
        }
        if let page = pages[top] {
            // Entered through its top, whose hash was checked: every node matches its parent.
            guard let node = page.nodes[position.slotInPage] else { throw corrupt(position, "missing node") }
            return node
        }
        // Not entered through its top (no caller of this file does so): check the node itself.
        guard let page = try page(at: top, expecting: nil), let node = page.nodes[position.slotInPage] else {
            if expecting != nil { throw corrupt(position, "missing node") }
            return nil
        }
        if let expecting, node.hash != expecting { throw corrupt(position, "hash differs from the parent's record") }
        return node
    }

    /// The node at `position`, which its parent records as `expecting`.
    mutating func child(at position: NodePosition, expecting: Hash) throws -> StoredNode {
        guard let node = try node(at: position, expecting: expecting) else { throw corrupt(position, "missing node") }
        return node
    }

    /// The page whose top is `top`, as read (and kept) by this operation.
    mutating func page(at top: NodePosition, expecting: Hash?) throws -> StoredPage? {
        if let page = pages[top] { return page }
        let page = try tree.loadPage(at: top, expecting: expecting)
        pages[top] = page
        return page
    }
}

extension StateTree {
    /// The page whose top is `top`, whose parent records `expecting` for it (nil: the root, or
    /// a page read without its parent): from the cache when it holds that version, else from
    /// the store, checked whole and kept in the cache. Nil when there is none; throws
    /// `corruptNode` when the parent records a page the store does not hold, or another one.
    func loadPage(at top: NodePosition, expecting: Hash?) throws -> StoredPage? {
        if let expecting, let page = cache?.page(at: top, hash: expecting) { return page }
        guard let bytes = try store.get(top.pageStorageKey, in: .stateTree) else {
            if expecting != nil { throw corrupt(top, "missing page") }
            return nil
        }
        let page = try StoredPage(decoding: bytes, at: top)
        let topHash = page.top!.hash
        if let expecting, topHash != expecting { throw corrupt(top, "hash differs from the parent's record") }
        cache?.remember(page, topHash: topHash, at: top)
        return page
    }
}

func corrupt(_ position: NodePosition, _ reason: String) -> StateTreeError {
    .corruptNode(position: position.storageKey.hexString, reason: reason)
}

/// The first index in `elements` (sorted by `key`, the keys sharing their first `bit` bits)
/// whose key has bit `bit` set: where the left child's elements end and the right's begin.
/// A binary search, for the updates of a batch and the entries of a subtree built anew.
func splitIndex<Element>(_ elements: ArraySlice<Element>, bit: Int, key: (Element) -> Hash) -> Int {
    var low = elements.startIndex
    var high = elements.endIndex
    while low < high {
        let middle = (low + high) / 2
        if key(elements[middle]).bit(bit) == 0 { low = middle + 1 } else { high = middle }
    }
    return low
}
