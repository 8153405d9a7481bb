public import KizunaCore

/// What an admission check read: the state keys (and key prefixes it listed) and how much of
/// the block context (ADR 0020). A node keeps it beside each account's pending chain and
/// checks the chain again after a commit only when the block could have changed its verdict:
/// a key it read was written (by the block or by the time rules at the start of the next
/// block), it listed a prefix the block wrote under, it compared the exact block time or
/// height, or it used the Japan-time date and the date changed.
///
/// A reference type because `StateOverlay.get` and the context's accessors do not mutate:
/// one check owns its log and runs on one thread (the node's actor), hence `@unchecked`.
public final class StateReadLog: @unchecked Sendable {
    /// How much of the block time a verdict depends on, in increasing order.
    public enum TimeDependence: UInt8, Sendable, Comparable {
        /// Not at all: the verdict holds at any block time.
        case none
        /// Only on the Japan-time date of the block.
        case day
        /// On the exact timestamp or height.
        case exact

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public private(set) var keys: Set<ByteKey> = []
    public private(set) var prefixes: [[UInt8]] = []
    public private(set) var time: TimeDependence = .none

    public init() {}

    public func noteKey(_ key: [UInt8]) { keys.insert(ByteKey(key)) }

    func notePrefix(_ prefix: [UInt8]) {
        if !prefixes.contains(prefix) { prefixes.append(prefix) }
    }

    func noteTime(_ dependence: TimeDependence) { time = max(time, dependence) }
}
