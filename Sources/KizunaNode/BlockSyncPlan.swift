public import KizunaCore

/// When a node asks for blocks, and whom (block sync, `docs/network.md`): a pure decision from
/// the heights its peers report, its own height, the request it has out and the time; the
/// engine sends what it returns.
///
/// - Two or more blocks behind the peer furthest ahead: ask that peer (ties broken by key, so
///   the choice is stable) for the blocks after its own tip.
/// - One block behind is normal while a height is being decided: consensus catches up by
///   itself (the decision is requested when a later height's votes arrive). If it lasts
///   `retryMilliseconds` with no block of ours in between, nothing is deciding that height
///   where this node can hear it — a network that stopped, or a peer that only serves a
///   finished chain — and the last block only comes by sync: ask for it.
/// - A request not answered within `retryMilliseconds` is asked again of the next peer ahead
///   (the one asked may hold no block that low: a node started from a snapshot).
/// - When a batch arrives, the blocks after it are asked for before it is applied
///   (`askAhead`), so the peer reads and sends them while this node executes.
public struct BlockSyncPlan: Sendable {
    public struct Request: Sendable, Equatable {
        public var peer: PublicKey
        public var fromHeight: UInt64
    }

    public static let retryMilliseconds: UInt64 = 3000

    /// The request out now, if any, and when it was sent.
    public private(set) var outstanding: (peer: PublicKey, fromHeight: UInt64, at: UInt64)?
    /// Since when the peer furthest ahead has been exactly one block ahead of `height`.
    private var oneBehindSince: (height: UInt64, at: UInt64)?

    public init() {}

    /// The request to send now, if any. `ourHeight` is this node's tip.
    public mutating func next(ourHeight: UInt64, peerHeights: [PublicKey: UInt64], now: UInt64) -> Request? {
        if let request = outstanding, now < request.at + Self.retryMilliseconds, request.fromHeight > ourHeight { return nil }
        let ahead = peerHeights.filter { $0.value > ourHeight }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        guard let furthest = ahead.first else {
            oneBehindSince = nil
            return nil
        }
        if furthest.value == ourHeight + 1 && outstanding == nil {
            guard let since = oneBehindSince, since.height == ourHeight else {
                oneBehindSince = (ourHeight, now)
                return nil
            }
            guard now >= since.at + Self.retryMilliseconds else { return nil }
        }
        oneBehindSince = nil
        var peer = furthest.key
        if let request = outstanding, request.fromHeight == ourHeight + 1, let index = ahead.firstIndex(where: { $0.key == request.peer }) {
            peer = ahead[(index + 1) % ahead.count].key
        }
        outstanding = (peer, ourHeight + 1, now)
        return Request(peer: peer, fromHeight: ourHeight + 1)
    }

    /// A batch from `peer` ending at `lastHeight` arrived: the request for the blocks after it,
    /// while some peer is still ahead of it (nil: none is; nothing is out any more).
    public mutating func askAhead(after lastHeight: UInt64, from peer: PublicKey, peerHeights: [PublicKey: UInt64], now: UInt64) -> Request? {
        guard let target = peerHeights.values.max(), lastHeight < target else {
            outstanding = nil
            return nil
        }
        outstanding = (peer, lastHeight + 1, now)
        return Request(peer: peer, fromHeight: lastHeight + 1)
    }

    /// A block `peer` sent at `height` did not verify: what was asked ahead continues a chain
    /// this node did not accept, so `height` is asked again once the retry is due — of the next
    /// peer ahead.
    public mutating func refused(at height: UInt64, from peer: PublicKey, now: UInt64) {
        outstanding = (peer, height, now)
    }
}
