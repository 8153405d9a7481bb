import KizunaCore
import Synchronization

/// The upper levels of the state tree kept in memory (ADR 0013, pages since ADR 0023): for
/// every page whose top is above depth `levels`, the last version of it seen — read from the
/// store, or written by an `update` — with the hash of its top node.
///
/// A lookup names the page *and* the hash its parent records for the page's top, and hits only
/// when both match. So the cache never has to be told what was committed: a page of an update
/// whose batch was never written (a proposal that lost its round) or of another store simply
/// misses, and the page is read from the store again (and replaces the entry). A page matching
/// its top's hash holds exactly that subtree's nodes (each node of a page hashes to its
/// parent's record), so nothing in the cache can change a root, a proof or a batch; it only
/// saves the store read and the hashes that check it.
///
/// Memory is bounded by the number of pages above depth `levels`: 1 + 16 + 256 + … pages, 69,905
/// for a node's 20 levels (≈ 1.1 KiB a full page: ≈ 80 MiB when all are full, as at a million
/// residents), however large the state grows.
///
/// Thread-safe: a lock held only for one slot's read or write.
public final class StateTreeCache: Sendable {
    /// Pages whose top is at a depth `0 ..< levels` are kept (whole pages: a page whose top is
    /// above `levels` is kept even where it reaches below).
    public let levels: Int

    /// Default depth bound when a caller does not name one (tools and tests).
    public static let levelsDefault = 16
    /// The largest accepted bound.
    public static let levelsMax = 24

    struct Entry: Sendable {
        let topHash: Hash
        let page: StoredPage
    }

    private let slots: Mutex<[Entry?]>
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)

    /// - Parameter levels: keep the pages whose top is at depth `0 ..< levels` (0 keeps
    ///   nothing); at most `levelsMax`.
    public init(levels: Int = StateTreeCache.levelsDefault) {
        precondition((0...StateTreeCache.levelsMax).contains(levels), "a state-tree cache of \(levels) levels (0 ... \(StateTreeCache.levelsMax))")
        self.levels = levels
        slots = Mutex([Entry?](repeating: nil, count: StateTreeCache.slotCount(levels: levels)))
    }

    /// Lookups that found the page, and lookups of a kept page that did not (it was then
    /// read from the store). Pages below `levels` are not counted.
    public var hits: Int { hitCount.load(ordering: .relaxed) }
    public var misses: Int { missCount.load(ordering: .relaxed) }

    /// The page whose top is `top` if the cache holds it with top hash `hash`.
    func page(at top: NodePosition, hash: Hash) -> StoredPage? {
        guard let slot = slot(of: top) else { return nil }
        let entry = slots.withLock { $0[slot] }
        if let entry, entry.topHash == hash {
            hitCount.add(1, ordering: .relaxed)
            return entry.page
        }
        missCount.add(1, ordering: .relaxed)
        return nil
    }

    /// Keeps `page` (whose top node hashes to `topHash`) as the page at `top`, if kept.
    func remember(_ page: StoredPage, topHash: Hash, at top: NodePosition) {
        guard let slot = slot(of: top) else { return }
        slots.withLock { $0[slot] = Entry(topHash: topHash, page: page) }
    }

    /// Pages above depth `levels`: 16^0 + 16^1 + … for the page depths 0, 4, 8, … below it.
    static func slotCount(levels: Int) -> Int {
        var count = 0
        var depth = 0
        while depth < levels {
            count += 1 << depth
            depth += StateTree.pageLevels
        }
        return count
    }

    /// Heap order by page depth: the page at depth `d` with path value `p` (its `d` prefix bits
    /// as an integer) is slot `slotCount(levels: d) + p`; nil for pages not kept.
    private func slot(of top: NodePosition) -> Int? {
        let depth = top.depth
        guard depth < levels else { return nil }
        // depth < levels ≤ 24: the whole path is in the first word.
        let value = depth == 0 ? 0 : Int(truncatingIfNeeded: top.words.0 >> UInt64(64 - depth))
        return StateTreeCache.slotCount(levels: depth) + value
    }
}
