public import KizunaCore
import NIOConcurrencyHelpers

/// Transactions the API admitted, waiting for the engine's next gossip flush (every tick, 10 ms):
/// filled from any thread, emptied by the engine. At most `transactionsMax`; past it a
/// transaction is not gossiped (the caller counts it) — it still reaches the chain in this node's
/// own proposals, and peers that need it get it in the block.
public struct GossipBuffer: Sendable {
    public let transactionsMax: Int
    let pending = NIOLockedValueBox<[SignedTransaction]>([])

    public init(transactionsMax: Int) {
        precondition(transactionsMax > 0)
        self.transactionsMax = transactionsMax
    }

    /// Keeps `transaction` for the next flush; false (and not kept) when the buffer is full.
    public func offer(_ transaction: SignedTransaction) -> Bool {
        pending.withLockedValue { buffer in
            guard buffer.count < transactionsMax else { return false }
            buffer.append(transaction)
            return true
        }
    }

    /// Everything waiting, oldest first; the buffer is empty afterwards.
    public func takeAll() -> [SignedTransaction] {
        pending.withLockedValue { buffer in
            defer { buffer = [] }
            return buffer
        }
    }

    public var count: Int { pending.withLockedValue { $0.count } }
}
