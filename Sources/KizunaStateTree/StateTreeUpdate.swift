import KizunaCore
import KizunaStorage

// How `StateTree.update` changes the tree: the recursion of the binary definition (descend
// the touched paths, build new subtrees, collapse a subtree left with one leaf), applied to
// the pages that hold the nodes (ADR 0023). Each page the update meets is copied once and
// edited by slot; a node is found by its page's index and its slot, so the update keeps no
// table of nodes by position — only one of pages by their top, consulted once per page.

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

/// A position of the tree during an update, with where its node lives: the index of its page
/// among the update's pages (nil until the page is needed, for a page top not entered yet)
/// and its slot in that page.
struct UpdatePlace {
    let position: NodePosition
    var page: Int?
    let slot: Int

    static let root = UpdatePlace(position: .root, page: nil, slot: 0)

    func child(_ bit: Int) -> UpdatePlace {
        let child = position.child(bit)
        if child.isPageTop { return UpdatePlace(position: child, page: nil, slot: 0) }
        return UpdatePlace(position: child, page: page, slot: 2 * slot + 1 + bit)
    }
}

/// One `update` call: every page it read or wrote, as stored before and as edited so far.
///
/// A node read on a touched path (or a leaf that moves up) is cleared from its page's copy
/// when it is read; the nodes of the new tree are set afterwards, when the recursion returns
/// to their positions. So each page ends as: what was stored, minus the nodes the update
/// removed, plus the ones it placed.
struct Updater {
    let tree: StateTree

    struct PageEdit {
        let top: NodePosition
        /// The page as stored before the update (nil: there was none at `top`).
        let stored: StoredPage?
        /// The page after the update so far.
        var edited: StoredPage
        /// The hash of `edited`'s top node, once the update placed it.
        var topHash: Hash?
    }

    private(set) var pages: [PageEdit] = []
    private var indexByTop: [NodePosition: Int] = [:]

    /// Room for the pages of `updates` keys up front (two or three pages a touched key below
    /// what a block's keys share), so the tables are not rehashed as they grow.
    init(tree: StateTree, updates: Int) {
        self.tree = tree
        pages.reserveCapacity(3 * updates)
        indexByTop.reserveCapacity(3 * updates)
    }

    /// The new root and the writes of applying `updates` (sorted, distinct keys) to the tree.
    mutating func run(_ updates: [Update]) throws -> (root: Hash, batch: WriteBatch) {
        var root = UpdatePlace.root
        // The root has no parent to vouch for it: read from the store and checked whole.
        root.page = try enter(NodePosition.root, expecting: nil)
        let existing = pages[root.page!].stored?.top
        guard !updates.isEmpty else { return (existing?.hash ?? StateTree.emptyRoot, WriteBatch()) }
        if existing != nil { clear(root) }
        let result = try visit(root, existing: existing, updates: updates[...])
        let hash = place(result, at: root)
        return (hash, batch())
    }

    /// The subtree at `place`, whose stored node is `existing`, after `updates` (sorted,
    /// non-empty, all under `place`).
    mutating func visit(_ place: UpdatePlace, existing: StoredNode?, updates: ArraySlice<Update>) throws -> Subtree {
        switch existing {
        case .internal(let left, let right):
            let split = splitIndex(updates, bit: place.position.depth) { $0.key }
            var leftResult = try descend(place.child(0), hash: left, updates: updates[..<split])
            var rightResult = try descend(place.child(1), hash: right, updates: updates[split...])
            // A side that was empty and stays empty leaves the other side as it was: an
            // internal node (the old tree had at least two leaves here), so no read is needed.
            if left == .zero, case .empty = leftResult, case .untouched(let hash) = rightResult {
                rightResult = .node(hash)
            }
            if right == .zero, case .empty = rightResult, case .untouched(let hash) = leftResult {
                leftResult = .node(hash)
            }
            return try combine(at: place, leftResult, rightResult)
        case .leaf(let key, let valueHash):
            // Rebuild this subtree from the leaf plus the insertions.
            var entries = insertions(updates)
            let overridden = updates.contains { $0.key == key }
            if !overridden {
                let index = entries.firstIndex { key < $0.key } ?? entries.endIndex
                entries.insert((key, valueHash), at: index)
            }
            return try build(at: place, entries[...])
        case nil:
            return try build(at: place, insertions(updates)[...])
        }
    }

    /// The subtree of a child recorded as `hash` in its parent, after `updates`.
    mutating func descend(_ place: UpdatePlace, hash: Hash, updates: ArraySlice<Update>) throws -> Subtree {
        if updates.isEmpty { return hash == .zero ? .empty : .untouched(hash) }
        var place = place
        var existing: StoredNode?
        if hash != .zero {
            existing = try read(&place, expecting: hash)
            clear(place)
        }
        return try visit(place, existing: existing, updates: updates)
    }

    /// The subtree holding exactly `entries` (sorted, distinct, all under `place`), built
    /// from nothing: no node is stored below `place`.
    mutating func build(at place: UpdatePlace, _ entries: ArraySlice<(key: Hash, valueHash: Hash)>) throws -> Subtree {
        switch entries.count {
        case 0:
            return .empty
        case 1:
            let entry = entries[entries.startIndex]
            return .leaf(key: entry.key, valueHash: entry.valueHash)
        default:
            let split = splitIndex(entries, bit: place.position.depth) { $0.key }
            let left = try build(at: place.child(0), entries[..<split])
            let right = try build(at: place.child(1), entries[split...])
            return try combine(at: place, left, right)
        }
    }

    /// The subtree at `place` with children `left` and `right`: empty, a leaf moved up, or an
    /// internal node stored here.
    mutating func combine(at place: UpdatePlace, _ left: Subtree, _ right: Subtree) throws -> Subtree {
        var left = left
        var right = right
        if case .empty = left, case .untouched(let hash) = right {
            right = try resolve(place.child(1), hash: hash)
        }
        if case .empty = right, case .untouched(let hash) = left {
            left = try resolve(place.child(0), hash: hash)
        }
        switch (left, right) {
        case (.empty, .empty):
            return .empty
        case (.empty, .leaf(let key, let valueHash)), (.leaf(let key, let valueHash), .empty):
            return .leaf(key: key, valueHash: valueHash)
        default:
            let node = StoredNode.internal(left: self.place(left, at: place.child(0)), right: self.place(right, at: place.child(1)))
            let hash = node.hash
            set(node, hash: hash, at: place)
            return .node(hash)
        }
    }

    /// Reads an untouched subtree whose sibling became empty: a leaf moves up (its old place
    /// is cleared), an internal node stays.
    mutating func resolve(_ place: UpdatePlace, hash: Hash) throws -> Subtree {
        var place = place
        let node = try read(&place, expecting: hash)
        switch node {
        case .leaf(let key, let valueHash):
            clear(place)
            return .leaf(key: key, valueHash: valueHash)
        case .internal:
            return .node(hash)
        }
    }

    /// Stores `subtree` at `place` if it is a leaf (internal nodes are already stored) and
    /// returns its hash.
    mutating func place(_ subtree: Subtree, at place: UpdatePlace) -> Hash {
        switch subtree {
        case .empty:
            return StateTree.emptyRoot
        case .leaf(let key, let valueHash):
            let node = StoredNode.leaf(key: key, valueHash: valueHash)
            let hash = node.hash
            set(node, hash: hash, at: place)
            return hash
        case .node(let hash), .untouched(let hash):
            return hash
        }
    }

    // MARK: Pages

    /// The stored node at `place`, which its parent records as `expecting`; resolves the
    /// place's page. A page entered through its top was checked against the parent's record
    /// (from the cache by that hash, or from the store checked whole), so a node inside it
    /// matches its own parent's record without a hash of its own.
    mutating func read(_ place: inout UpdatePlace, expecting: Hash) throws -> StoredNode {
        let position = place.position
        if place.page == nil {
            let top = position.pageTop
            if let index = indexByTop[top] {
                place.page = index
            } else {
                place.page = try enter(top, expecting: position.isPageTop ? expecting : nil)
                // Not entered through its top (the recursion always is): check the node itself.
                if !position.isPageTop, let node = pages[place.page!].stored?.nodes[place.slot], node.hash != expecting {
                    throw corrupt(position, "hash differs from the parent's record")
                }
            }
        }
        guard let node = pages[place.page!].stored?.nodes[place.slot] else { throw corrupt(position, "missing node") }
        return node
    }

    /// Reads the page at `top` (nil `expecting`: there may be none) and adds it to the pages
    /// of this update; returns its index.
    mutating func enter(_ top: NodePosition, expecting: Hash?) throws -> Int {
        let stored = try tree.loadPage(at: top, expecting: expecting)
        return add(PageEdit(top: top, stored: stored, edited: stored ?? StoredPage(), topHash: nil))
    }

    private mutating func add(_ edit: PageEdit) -> Int {
        let index = pages.count
        pages.append(edit)
        indexByTop[edit.top] = index
        return index
    }

    /// The index of the page at `place` for a write. A page met first by a write holds no
    /// node before the update: nodes are only placed at positions where the recursion read a
    /// node (its page entered then) or where the old tree had none — and a page is stored
    /// exactly when a node sits at its top.
    mutating func pageForWriting(_ place: UpdatePlace) -> Int {
        if let page = place.page { return page }
        let top = place.position.pageTop
        if let index = indexByTop[top] { return index }
        return add(PageEdit(top: top, stored: nil, edited: StoredPage(), topHash: nil))
    }

    mutating func clear(_ place: UpdatePlace) {
        pages[pageForWriting(place)].edited.nodes[place.slot] = nil
    }

    mutating func set(_ node: StoredNode, hash: Hash, at place: UpdatePlace) {
        let index = pageForWriting(place)
        pages[index].edited.nodes[place.slot] = node
        if place.slot == 0 { pages[index].topHash = hash }
    }

    /// The writes: each page whose nodes changed, rewritten whole (a put), or deleted when no
    /// node is left in it, sorted by storage key; a page whose nodes did not change is not
    /// written. The pages written are kept in the cache (ADR 0013: a page of an update never
    /// written is simply not found there again).
    func batch() -> WriteBatch {
        // Keys made once, not in every comparison of the sort.
        let order = pages.indices.map { (key: pages[$0].top.pageStorageKey, index: $0) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var batch = WriteBatch()
        for (key, index) in order {
            let edit = pages[index]
            if edit.edited.isEmpty {
                if edit.stored != nil { batch.delete(key, in: .stateTree) }
                continue
            }
            guard let topNode = edit.edited.top else {
                // The update never leaves nodes under an empty position: a bug, not bad data.
                preconditionFailure("state tree update left page \(key.hexString) without its top node")
            }
            guard edit.edited != edit.stored else { continue }
            batch.put(edit.edited.encoded, for: key, in: .stateTree)
            tree.cache?.remember(edit.edited, topHash: edit.topHash ?? topNode.hash, at: edit.top)
        }
        return batch
    }
}

/// The updates that insert or replace a value, in key order.
func insertions(_ updates: ArraySlice<Update>) -> [(key: Hash, valueHash: Hash)] {
    updates.compactMap { update in update.valueHash.map { (update.key, $0) } }
}
