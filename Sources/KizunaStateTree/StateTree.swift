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
        let existing = try updater.reader.node(at: .root, expecting: nil)
        guard !sorted.isEmpty else {
            return (existing?.hash ?? StateTree.emptyRoot, WriteBatch())
        }
        if let existing { updater.old[.root] = existing }
        let result = try updater.visit(at: .root, existing: existing, updates: sorted[...])
        let root = updater.place(result, at: .root)
        return (root, try updater.batch())
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

    mutating func reserveCapacity(_ pages: Int) {
        self.pages.reserveCapacity(pages)
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
        if let expecting, let page = tree.cache?.page(at: top, hash: expecting) {
            pages[top] = page
            return page
        }
        guard let bytes = try tree.store.get(top.pageStorageKey, in: .stateTree) else {
            if expecting != nil { throw corrupt(top, "missing page") }
            return nil
        }
        let page = try StoredPage(decoding: bytes, at: top)
        let topHash = page.top!.hash
        if let expecting, topHash != expecting { throw corrupt(top, "hash differs from the parent's record") }
        tree.cache?.remember(page, topHash: topHash, at: top)
        pages[top] = page
        return page
    }

    /// The page at `top` as stored before this operation's writes: read here if this operation
    /// has not read it yet (nil when there is none).
    mutating func storedPage(at top: NodePosition) throws -> StoredPage? {
        try page(at: top, expecting: nil)
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

/// One `update` call: the pages it read, the nodes it read and the nodes it places, by
/// position.
struct Updater {
    let tree: StateTree
    var reader: PageReader
    /// Nodes read that the update may move or delete.
    var old: [NodePosition: StoredNode] = [:]
    /// Nodes of the new tree on the touched paths.
    var new: [NodePosition: StoredNode] = [:]

    /// Room made up front for the nodes and pages of `updates` keys, so the dictionaries are
    /// not rehashed as they grow (a tenth of an update's time when they were): a touched key
    /// changes about eight nodes below what a block's keys share, in two or three pages.
    init(tree: StateTree, updates: Int) {
        self.tree = tree
        self.reader = PageReader(tree: tree)
        reader.reserveCapacity(3 * updates)
        old.reserveCapacity(8 * updates)
        new.reserveCapacity(8 * updates)
    }

    /// The subtree at `position`, whose stored node is `existing`, after `updates` (sorted,
    /// non-empty, all under `position`).
    mutating func visit(at position: NodePosition, existing: StoredNode?, updates: ArraySlice<Update>) throws -> Subtree {
        switch existing {
        case .internal(let left, let right):
            let split = splitIndex(updates, bit: position.depth) { $0.key }
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
            let node = try reader.child(at: position, expecting: hash)
            old[position] = node
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
            let split = splitIndex(entries, bit: position.depth) { $0.key }
            let left = try build(at: position.child(0), entries[..<split])
            let right = try build(at: position.child(1), entries[split...])
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
            new[position] = node
            return .node(node.hash)
        }
    }

    /// Reads an untouched subtree whose sibling became empty: a leaf moves up (its old place
    /// is deleted), an internal node stays.
    mutating func resolve(_ position: NodePosition, hash: Hash) throws -> Subtree {
        let node = try reader.child(at: position, expecting: hash)
        switch node {
        case .leaf(let key, let valueHash):
            old[position] = node
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
            new[position] = node
            return node.hash
        case .node(let hash), .untouched(let hash):
            return hash
        }
    }

    /// The writes: the pages holding a new or removed node, each rewritten whole (a put), or
    /// deleted when no node is left in it, sorted by storage key; a page whose nodes did not
    /// change is not written. The pages written are kept in the cache (ADR 0013: a page of an
    /// update never written is simply not found there again).
    mutating func batch() throws -> WriteBatch {
        var edited: [NodePosition: StoredPage] = [:]
        func edit(_ position: NodePosition, _ node: StoredNode?) throws {
            let top = position.pageTop
            if edited[top] == nil { edited[top] = try reader.storedPage(at: top) ?? StoredPage() }
            // In place: the page's slots are copied once, at its first edit, not at every one.
            edited[top]!.nodes[position.slotInPage] = node
        }
        for position in old.keys where new[position] == nil { try edit(position, nil) }
        for (position, node) in new { try edit(position, node) }
        // Keys made once, not in every comparison of the sort.
        let pages = edited.map { (key: $0.key.pageStorageKey, top: $0.key, page: $0.value) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var batch = WriteBatch()
        for (key, top, page) in pages {
            let before = try reader.storedPage(at: top)
            if page.isEmpty {
                if before != nil { batch.delete(key, in: .stateTree) }
                continue
            }
            guard let topNode = page.top else {
                // The update never leaves nodes under an empty position: a bug, not bad data.
                preconditionFailure("state tree update left page \(top.pageStorageKey.hexString) without its top node")
            }
            guard page != before else { continue }
            batch.put(page.encoded, for: key, in: .stateTree)
            tree.cache?.remember(page, topHash: topNode.hash, at: top)
        }
        return batch
    }
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

/// The updates that insert or replace a value, in key order.
func insertions(_ updates: ArraySlice<Update>) -> [(key: Hash, valueHash: Hash)] {
    updates.compactMap { update in update.valueHash.map { (update.key, $0) } }
}
