import KizunaCore
import Synchronization

/// The upper levels of the state tree kept in memory (ADR 0013): for every position above
/// depth `levels`, the last node seen there — read from the store, or made by an `update` —
/// with its hash.
///
/// A lookup names the position *and* the hash its parent records, and hits only when both
/// match. So the cache never has to be told what was committed: a node of an update whose
/// batch was never written (a proposal that lost its round) or of another store simply
/// misses, and the node is read from the store again (and replaces the entry). Nothing in
/// it can change a root, a proof or a batch; it only saves the store read and the hash that
/// checks it.
///
/// Memory is bounded by the number of positions, `2^levels − 1` (65,535 for the default
/// 16 levels: about 15 MiB when every slot holds a node), however large the state grows.
/// At a million keys the tree is ≈ 21 levels deep, so the 16 kept in memory leave ≈ 5 store
/// reads per touched key instead of ≈ 21.
///
/// Thread-safe: a lock held only for one slot's read or write.
public final class StateTreeCache: Sendable {
    /// Positions at depths `0 ..< levels` are kept.
    public let levels: Int

    /// Default depth bound: 2^16 − 1 positions.
    public static let levelsDefault = 16
    /// The largest accepted bound (2^24 − 1 positions, about 4 GiB when full).
    public static let levelsMax = 24

    struct Entry: Sendable {
        let hash: Hash
        let node: StoredNode
    }

    private let slots: Mutex<[Entry?]>
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)

    /// - Parameter levels: keep the positions of depth `0 ..< levels` (0 keeps nothing);
    ///   at most `levelsMax`.
    public init(levels: Int = StateTreeCache.levelsDefault) {
        precondition((0...StateTreeCache.levelsMax).contains(levels), "a state-tree cache of \(levels) levels (0 ... \(StateTreeCache.levelsMax))")
        self.levels = levels
        slots = Mutex([Entry?](repeating: nil, count: (1 << levels) - 1))
    }

    /// Lookups that found the node, and lookups of a kept position that did not (the node
    /// was then read from the store). Positions below `levels` are not counted.
    public var hits: Int { hitCount.load(ordering: .relaxed) }
    public var misses: Int { missCount.load(ordering: .relaxed) }

    /// The node at `position` if the cache holds it with hash `hash`.
    func node(at position: NodePosition, hash: Hash) -> StoredNode? {
        guard let slot = slot(of: position) else { return nil }
        let entry = slots.withLock { $0[slot] }
        if let entry, entry.hash == hash {
            hitCount.add(1, ordering: .relaxed)
            return entry.node
        }
        missCount.add(1, ordering: .relaxed)
        return nil
    }

    /// Keeps `node` (whose hash is `hash`) as the node at `position`, if the position is kept.
    func remember(_ node: StoredNode, hash: Hash, at position: NodePosition) {
        guard let slot = slot(of: position) else { return }
        slots.withLock { $0[slot] = Entry(hash: hash, node: node) }
    }

    /// Heap order: depth `d`, path value `p` (the `d` path bits as an integer) is slot
    /// `2^d − 1 + p`; nil below the kept levels.
    private func slot(of position: NodePosition) -> Int? {
        let depth = position.depth
        guard depth < levels else { return nil }
        var value = 0
        for byte in position.prefix { value = value << 8 | Int(byte) }
        value >>= position.prefix.count * 8 - depth
        return (1 << depth) - 1 + value
    }
}
