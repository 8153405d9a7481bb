public import KizunaCore
import Foundation

/// Reads windows of blocks from a chain source and verifies their transactions' signatures on
/// all cores, on a thread of its own, ahead of the auditor's replay (issue 16: "the audit's
/// replay runs beside verification"). The replay of one window then overlaps the reading and
/// verification of the next, instead of the two taking turns.
///
/// The windows come out in height order. At most `windowsAheadMax` verified windows wait for
/// the replay at once (the memory bound: each holds up to `windowBlocks` decoded blocks), so a
/// slow replay holds the reader back instead of the reader filling memory. A read that fails
/// ends the stream with that failure; `cancel()` (an audit that stopped on a finding) stops the
/// thread at its next window.
///
/// Only this object's thread uses `source` once `start()` has run, so a source that is not
/// safe to share between threads (the remote source's one HTTP client) is still used by one
/// thread at a time.
public final class VerifiedWindowPipeline: @unchecked Sendable {
    /// Verified windows waiting for the replay, at most.
    public static let windowsAheadMax = 1

    public struct Window: Sendable {
        public var blocks: [(block: Block, certificate: CommitCertificate)]
        /// One result per transaction of `blocks`, in order.
        public var verified: [Result<VerifiedTransaction, TransactionError>]
    }

    public enum Item: Sendable {
        case window(Window)
        /// The block or certificate at `height` could not be read; nothing follows.
        case readFailure(height: UInt64, detail: String)
    }

    private let source: any ChainSource
    private let chainId: String
    private let heights: ClosedRange<UInt64>
    private let windowBlocks: UInt64
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var ready: [Item] = []
    private var finished = false
    private var cancelled = false

    /// `heights` non-empty; `windowBlocks` ≥ 1.
    public init(source: any ChainSource, chainId: String, heights: ClosedRange<UInt64>, windowBlocks: Int) {
        self.source = source
        self.chainId = chainId
        self.heights = heights
        self.windowBlocks = UInt64(max(1, windowBlocks))
    }

    public func start() {
        let thread = Thread { [self] in produce() }
        thread.name = "kizuna-audit-verify"
        thread.start()
    }

    /// The next window in height order, waiting for it; nil after the last one (or after a
    /// read failure was returned, or `cancel()`).
    public func next() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished && !cancelled { condition.wait() }
        guard !cancelled, !ready.isEmpty else { return nil }
        let item = ready.removeFirst()
        condition.broadcast()
        return item
    }

    /// Stops the reading thread at its next window and drops what it had verified.
    public func cancel() {
        condition.lock()
        cancelled = true
        ready.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private func produce() {
        var start = heights.lowerBound
        while start <= heights.upperBound {
            let end = min(heights.upperBound, start + windowBlocks - 1)
            let item = readAndVerify(start...end)
            condition.lock()
            while ready.count >= Self.windowsAheadMax && !cancelled { condition.wait() }
            if cancelled {
                condition.unlock()
                return
            }
            ready.append(item)
            condition.broadcast()
            condition.unlock()
            if case .readFailure = item { break }
            start = end + 1
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func readAndVerify(_ window: ClosedRange<UInt64>) -> Item {
        var blocks: [(block: Block, certificate: CommitCertificate)] = []
        blocks.reserveCapacity(window.count)
        for height in window {
            do {
                blocks.append((try source.block(at: height), try source.certificate(at: height)))
            } catch {
                return .readFailure(height: height, detail: "\(error)")
            }
        }
        let transactions = blocks.flatMap { $0.block.transactions }
        return .window(Window(blocks: blocks, verified: ChainAuditor.verifyAll(transactions, chainId: chainId)))
    }
}
