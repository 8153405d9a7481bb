import NIOConcurrencyHelpers

/// The consensus engine's one queue of inputs, with a named bound on what others can put in it.
///
/// Peer inputs (frames, connection events, refusals) count against `peerInputsMax`; past it a
/// peer input is dropped — a flooding peer cannot grow memory, and a dropped vote or block is
/// sent again by its rebroadcast — and `dropped` counts it. The engine's own inputs are never
/// dropped: a timeout lost would stall a round, and there are at most a few per round. Ticks
/// are coalesced: at most one waits in the queue.
public final class BoundedInbox<Element: Sendable>: Sendable {
    public enum Kind: Sendable {
        /// From the network: bounded, dropped past the bound.
        case peer
        /// The engine's own (a timeout): always queued.
        case own
        /// The periodic tick: at most one queued.
        case tick
    }

    public let stream: AsyncStream<(element: Element, kind: Kind)>
    private let continuation: AsyncStream<(element: Element, kind: Kind)>.Continuation
    public let peerInputsMax: Int
    private struct Counts {
        var peerQueued = 0
        var dropped: UInt64 = 0
        var tickQueued = false
    }
    private let counts = NIOLockedValueBox(Counts())

    public init(peerInputsMax: Int) {
        precondition(peerInputsMax > 0)
        self.peerInputsMax = peerInputsMax
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Queues `element`; false if it was dropped (a peer input past the bound, or a tick while
    /// one is queued).
    @discardableResult
    public func offer(_ element: Element, _ kind: Kind) -> Bool {
        let admitted = counts.withLockedValue { counts -> Bool in
            switch kind {
            case .peer:
                guard counts.peerQueued < peerInputsMax else {
                    counts.dropped += 1
                    return false
                }
                counts.peerQueued += 1
            case .own:
                break
            case .tick:
                guard !counts.tickQueued else { return false }
                counts.tickQueued = true
            }
            return true
        }
        if admitted { continuation.yield((element, kind)) }
        return admitted
    }

    /// The consumer took an input of `kind` off the queue.
    public func taken(_ kind: Kind) {
        counts.withLockedValue { counts in
            switch kind {
            case .peer: counts.peerQueued -= 1
            case .own: break
            case .tick: counts.tickQueued = false
            }
        }
    }

    /// Peer inputs queued now, and dropped so far.
    public var peerQueued: Int { counts.withLockedValue { $0.peerQueued } }
    public var dropped: UInt64 { counts.withLockedValue { $0.dropped } }

    /// Ends the stream (the consumer's loop ends after what is queued).
    public func finish() { continuation.finish() }
}
