import KizunaCore

// How the binary tree is stored: in pages of four levels (ADR 0023). The tree, its hashes, its
// root and its proofs are those of the binary definition (`StoredNode`, `docs/state-commitment.md`);
// only the unit of storage changes, so a touched key costs one store read and one batch
// operation per four levels of its path instead of one per level.

extension StateTree {
    /// Binary levels stored together in one page.
    public static let pageLevels = 4
    /// Binary positions in one page: 1 + 2 + 4 + 8.
    static let pageSlots = (1 << pageLevels) - 1
}

extension NodePosition {
    /// The top of the page holding this position: the position truncated to the last
    /// multiple of `StateTree.pageLevels` bits.
    var pageTop: NodePosition {
        let topDepth = depth - depth % StateTree.pageLevels
        return topDepth == depth ? self : truncated(to: topDepth)
    }

    var isPageTop: Bool { depth % StateTree.pageLevels == 0 }

    /// Where this position sits in its page, in heap order: the top is 0, its children 1 and
    /// 2, then 3 ... 6 and 7 ... 14 (left before right at each level).
    var slotInPage: Int {
        let relative = depth % StateTree.pageLevels
        var path = 0
        for index in (depth - relative)..<depth {
            path = path << 1 | bit(index)
        }
        return (1 << relative) - 1 + path
    }

    /// The storage key of the page whose top is this position (`isPageTop`):
    /// `0x50 ‖ depth (2 bytes, big-endian) ‖ prefix`. The first byte keeps page keys apart
    /// from the node keys of the binary layout (format 2), whose first byte is 0 or 1.
    var pageStorageKey: [UInt8] {
        [StoredPage.keyTag, UInt8(truncatingIfNeeded: depth >> 8), UInt8(truncatingIfNeeded: depth)] + prefix
    }
}

/// The nodes of one page: the binary subtree under a page top, cut `pageLevels` levels
/// below it (the internal nodes of its last level record the tops of child pages).
///
/// Stored as `slots (2 bytes, big-endian, bit i = slot i present) ‖ the present slots'
/// nodes (65 bytes each, `StoredNode`) in slot order`: at most 2 + 15 × 65 = 977 bytes.
struct StoredPage: Equatable, Sendable {
    static let keyTag: UInt8 = 0x50

    var nodes: [StoredNode?]

    init() {
        nodes = Array(repeating: nil, count: StateTree.pageSlots)
    }

    var isEmpty: Bool { nodes.allSatisfy { $0 == nil } }

    /// The node at the page's top: present in every stored page.
    var top: StoredNode? { nodes[0] }

    var encoded: [UInt8] {
        var present: UInt16 = 0
        var count = 0
        for (slot, node) in nodes.enumerated() where node != nil {
            present |= 1 << UInt16(slot)
            count += 1
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + count * StoredNode.encodedCount)
        bytes.append(UInt8(present >> 8))
        bytes.append(UInt8(present & 0xff))
        for node in nodes {
            if let node { node.append(to: &bytes) }
        }
        return bytes
    }

    /// Decodes a stored page and checks it is one well-formed binary subtree under `top`:
    /// the top present; every other node present exactly where its parent (in the page)
    /// records a non-empty child, and hashing to that record; leaves under their own key's
    /// prefix; no internal node at the maximum depth. Throws `corruptNode` otherwise.
    /// After this, every node of the page matches what its parent records, so reading a node
    /// inside a page needs no further hash.
    init(decoding bytes: [UInt8], at top: NodePosition) throws(StateTreeError) {
        guard bytes.count >= 2 else { throw corrupt(top, "page shorter than its slot map") }
        let present = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard present >> UInt16(StateTree.pageSlots) == 0 else { throw corrupt(top, "page slot map names a slot past 15") }
        guard bytes.count == 2 + present.nonzeroBitCount * StoredNode.encodedCount else {
            throw corrupt(top, "page of \(bytes.count) bytes for \(present.nonzeroBitCount) nodes")
        }
        self.init()
        var offset = 2
        for slot in 0..<StateTree.pageSlots where present & (1 << UInt16(slot)) != 0 {
            guard let node = StoredNode(decoding: bytes[offset..<(offset + StoredNode.encodedCount)]) else {
                throw corrupt(top, "malformed node in slot \(slot)")
            }
            nodes[slot] = node
            offset += StoredNode.encodedCount
        }
        try check(at: top)
    }

    /// The structural and hash checks of `init(decoding:at:)`.
    func check(at top: NodePosition) throws(StateTreeError) {
        guard top.isPageTop else { throw corrupt(top, "page top at a depth not a multiple of \(StateTree.pageLevels)") }
        guard nodes[0] != nil else { throw corrupt(top, "page without a top node") }
        // Walk the page from its top: every slot reached must be present and match its
        // parent's record; count them to find slots present but unreachable.
        var reached = 0
        func visit(_ slot: Int, _ position: NodePosition, expecting: Hash?) throws(StateTreeError) {
            guard let node = nodes[slot] else { throw corrupt(position, "missing node in its page") }
            reached += 1
            if let expecting, node.hash != expecting { throw corrupt(position, "hash differs from the parent's record") }
            switch node {
            case .leaf(let key, _):
                guard position.contains(key) else { throw corrupt(position, "leaf outside its key's path") }
            case .internal(let left, let right):
                guard position.depth < StateTree.maxDepth else { throw corrupt(position, "internal node too deep") }
                let childSlot = 2 * slot + 1
                guard childSlot < StateTree.pageSlots else { return }
                if left != .zero { try visit(childSlot, position.child(0), expecting: left) }
                if right != .zero { try visit(childSlot + 1, position.child(1), expecting: right) }
            }
        }
        try visit(0, top, expecting: nil)
        let present = nodes.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        guard reached == present else { throw corrupt(top, "page holds \(present - reached) nodes outside the tree") }
    }
}

extension StoredNode {
    /// Appends the node's 65-byte encoding to `bytes`.
    func append(to bytes: inout [UInt8]) {
        switch self {
        case .internal(let left, let right):
            bytes.append(StoredNode.internalTag)
            left.withUnsafeBytes { bytes.append(contentsOf: $0) }
            right.withUnsafeBytes { bytes.append(contentsOf: $0) }
        case .leaf(let key, let valueHash):
            bytes.append(StoredNode.leafTag)
            key.withUnsafeBytes { bytes.append(contentsOf: $0) }
            valueHash.withUnsafeBytes { bytes.append(contentsOf: $0) }
        }
    }
}
