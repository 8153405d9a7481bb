public import KizunaStorage
import Foundation

/// Checks the invariants of design §2.4 for one replayed height at a time, on a thread of its
/// own, while the auditor replays the next block (issue 16: the scan of the whole state after
/// every block was a quarter of the audit's replay, on the replay's one thread).
///
/// Each check reads copies of the replica's state taken right after commits
/// (`MemoryStore.snapshot`), so it sees exactly its height whatever the replay writes next.
/// At most one check runs: `submit` first waits for the one before, so the replay is never
/// more than one block ahead of the checks and at most two copies of the state live at once.
/// A violation is reported with the height it was found at; the auditor asks `finish()`
/// before it reports any later failure, so the lowest height still wins.
final class InvariantCheckLane: @unchecked Sendable {
    /// The check of one height: the first violation, or nil.
    typealias Check = @Sendable () throws -> String?

    private let queue = DispatchQueue(label: "kizuna-audit-invariants")
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var running = false
    private var failure: ChainAuditor.Failure?

    /// Waits for the check before (throwing its failure), then starts `check`, the check of
    /// `height`, and returns.
    func submit(height: UInt64, blockHash: String, check: @escaping Check) throws(ChainAuditor.Failure) {
        try finish()
        condition.lock()
        running = true
        condition.unlock()
        queue.async { [self] in
            var found: ChainAuditor.Failure?
            do {
                if let violation = try check() {
                    found = ChainAuditor.Failure(height: height, blockHash: blockHash, check: "invariants of design §2.4", detail: violation)
                }
            } catch {
                found = ChainAuditor.Failure(height: height, blockHash: blockHash, check: "invariants", detail: "\(error)")
            }
            condition.lock()
            failure = found
            running = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits for the running check, if any, and throws its failure.
    func finish() throws(ChainAuditor.Failure) {
        condition.lock()
        while running { condition.wait() }
        let found = failure
        failure = nil
        condition.unlock()
        if let found { throw found }
    }
}
