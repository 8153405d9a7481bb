import KizunaCore
import NIOCore
import Foundation
import Synchronization
import Dispatch

/// Monotonic nanoseconds (never the wall clock: measured intervals only).
func benchNow() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Where one pre-signed submission stands.
enum BenchOutcome: UInt8, Sendable {
    /// Not offered yet (or never: the phase ended first).
    case waiting
    /// Offered; waiting behind the same signer's unanswered submission.
    case parked
    /// Offered and being sent, or waiting to be retried.
    case sending
    /// A node admitted it (202, or 409: already pending or committed).
    case accepted
    /// Refused too often or for too long; the client gave up.
    case abandoned
    /// Never sent: an earlier transaction of the same signer was abandoned or rejected, so
    /// its nonce can never be next.
    case dropped
    /// Refused for good at submission (a 4xx other than 409 and 429).
    case rejected
}

/// The load generator's shared state: every submission's timings and outcome, the per-signer
/// gates, the per-node queues the connection workers take from, and what the event stream saw
/// committed. Used from many tasks; one lock.
final class BenchLoad: Sendable {
    struct Record: Sendable {
        var job: BenchJob
        var phase: Int
        var maxAttempts: Int
        /// Set-up phases: a `tx.nonce_gap` refusal is retried (see `answer`).
        var retriesNonceGaps = false
        var outcome: BenchOutcome = .waiting
        var scheduledAt: UInt64 = 0
        var firstSentAt: UInt64 = 0
        /// When the attempt that was admitted was sent: submit-to-commit starts here.
        var acceptedSentAt: UInt64 = 0
        var committedAt: UInt64 = 0
        var height: UInt64 = 0
        var attempts: Int = 0
        /// Whether it counts against its signer's window now.
        var holdsSlot = false
    }

    /// Counters of one phase.
    struct PhaseCounters: Sendable {
        var released = 0
        var committed = 0
        /// Abandoned, dropped or rejected (and not committed).
        var finished = 0
        var refusals: [String: Int] = [:]
        var refusalsWithRetryAfter = 0
        var refusalsTotal = 0
        /// How long each 429/503 refusal took to answer, milliseconds (admission control
        /// must refuse quickly).
        var refusalAnswerMilliseconds: [Double] = []
        var rejections: [String: Int] = [:]
        var duplicateAnswers = 0
        var transportErrors = 0
        var giveUpAt: UInt64 = .max
    }

    struct Block: Sendable {
        var height: UInt64
        var transactions: Int
        var seenAt: UInt64
    }

    /// A first-in first-out list of job indices.
    struct IndexQueue: Sendable {
        var items: [Int] = []
        var head = 0
        var isEmpty: Bool { head >= items.count }
        var count: Int { items.count - head }
        mutating func push(_ item: Int) { items.append(item) }
        mutating func pop() -> Int? {
            guard head < items.count else { return nil }
            defer {
                head += 1
                if head > 4096 && head * 2 > items.count {
                    items.removeFirst(head)
                    head = 0
                }
            }
            return items[head]
        }
    }

    struct State: ~Copyable {
        var records: [Record] = []
        var index: [Hash: Int] = [:]
        var inFlight: [Int]
        var windows: [Int]
        /// Signers whose window counts submissions until they commit (authorities: the node
        /// keeps at most 64 pending per account), not only until they are admitted.
        var gateOnCommit: [Bool]
        var parked: [Int: IndexQueue] = [:]
        var queues: [IndexQueue]
        var waiters: [[CheckedContinuation<Int?, Never>]]
        var stopped = false
        var phases: [Int: PhaseCounters] = [:]
        var blocks: [Block] = []
        var poisoned: Set<Int> = []
        var foreignCommitted = 0
    }

    enum Answer: Sendable {
        case done
        case retry(afterNanoseconds: UInt64, node: Int)
    }

    let nodeCount: Int
    private let state: Mutex<State>

    init(nodeCount: Int, windows: [Int], gateOnCommit: [Bool]) {
        self.nodeCount = nodeCount
        state = Mutex(State(inFlight: Array(repeating: 0, count: windows.count), windows: windows, gateOnCommit: gateOnCommit,
                            queues: Array(repeating: IndexQueue(), count: nodeCount), waiters: Array(repeating: [], count: nodeCount)))
    }

    // MARK: - Jobs

    /// Adds a phase's jobs (not offered yet); returns their indices.
    func add(_ jobs: [BenchJob], phase: Int, maxAttempts: Int, retriesNonceGaps: Bool = false) -> Range<Int> {
        state.withLock { state in
            let start = state.records.count
            for job in jobs {
                state.index[job.id] = state.records.count
                state.records.append(Record(job: job, phase: phase, maxAttempts: maxAttempts, retriesNonceGaps: retriesNonceGaps))
            }
            if state.phases[phase] == nil { state.phases[phase] = PhaseCounters() }
            return start..<state.records.count
        }
    }

    func setGiveUp(phase: Int, at time: UInt64) {
        state.withLock { $0.phases[phase, default: PhaseCounters()].giveUpAt = time }
    }

    /// Offers a job: it goes to its node's queue unless its signer already has as many
    /// unanswered submissions as its window allows (then it waits for them).
    func release(_ index: Int, scheduledAt: UInt64) {
        state.withLock { state in
            guard state.records[index].outcome == .waiting else { return }
            state.records[index].scheduledAt = scheduledAt
            state.phases[state.records[index].phase]!.released += 1
            let signer = state.records[index].job.signer
            if state.inFlight[signer] < state.windows[signer] {
                state.inFlight[signer] += 1
                state.records[index].holdsSlot = true
                state.records[index].outcome = .sending
                Self.enqueue(&state, index, node: state.records[index].job.node)
            } else {
                state.records[index].outcome = .parked
                state.parked[signer, default: IndexQueue()].push(index)
            }
        }
    }

    private static func enqueue(_ state: inout State, _ index: Int, node: Int) {
        if !state.waiters[node].isEmpty {
            let waiter = state.waiters[node].removeFirst()
            waiter.resume(returning: index)
        } else {
            state.queues[node].push(index)
        }
    }

    /// The next job for a connection to `node`; nil once `stop()` was called.
    func take(node: Int) async -> Int? {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                if state.stopped {
                    continuation.resume(returning: nil)
                } else if let index = state.queues[node].pop() {
                    continuation.resume(returning: index)
                } else {
                    state.waiters[node].append(continuation)
                }
            }
        }
    }

    func stop() {
        state.withLock { state in
            state.stopped = true
            for node in state.waiters.indices {
                for waiter in state.waiters[node] { waiter.resume(returning: nil) }
                state.waiters[node] = []
            }
        }
    }

    /// The request to send for a job, or nil if it no longer needs sending.
    func beginAttempt(_ index: Int, at now: UInt64) -> ByteBuffer? {
        state.withLock { state in
            guard state.records[index].outcome == .sending else { return nil }
            if state.records[index].committedAt != 0 {
                // Seen committed while its answer was lost: it was admitted after all.
                Self.accept(&state, index, sentAt: state.records[index].firstSentAt)
                return nil
            }
            state.records[index].attempts += 1
            if state.records[index].firstSentAt == 0 { state.records[index].firstSentAt = now }
            return state.records[index].job.request
        }
    }

    /// Puts a job back in a node's queue after its retry delay.
    func requeue(_ index: Int, node: Int) {
        state.withLock { state in
            guard state.records[index].outcome == .sending else { return }
            Self.enqueue(&state, index, node: node)
        }
    }

    /// Books a node's answer to an attempt sent at `sentAt`.
    func answer(_ index: Int, node: Int, sentAt: UInt64, status: Int, code: String?, retryAfterSeconds: Int?) -> Answer {
        let now = benchNow()
        return state.withLock { state -> Answer in
            let phase = state.records[index].phase
            switch status {
            case 200, 202, 409:
                if status == 409 { state.phases[phase]!.duplicateAnswers += 1 }
                Self.accept(&state, index, sentAt: sentAt)
                return .done
            case 429, 503:
                state.phases[phase]!.refusalsTotal += 1
                state.phases[phase]!.refusalAnswerMilliseconds.append(Double(now - min(now, sentAt)) / 1e6)
                state.phases[phase]!.refusals["\(status) \(code ?? "?")", default: 0] += 1
                if retryAfterSeconds != nil { state.phases[phase]!.refusalsWithRetryAfter += 1 }
                guard state.records[index].outcome == .sending else { return .done }
                if state.records[index].attempts >= state.records[index].maxAttempts || now >= state.phases[phase]!.giveUpAt {
                    Self.finish(&state, index, as: .abandoned)
                    return .done
                }
                // The node is up and said when to come back: retry there (its signer's
                // earlier nonces are in that node's mempool, maybe not yet in the others').
                let delay = UInt64(max(0, retryAfterSeconds ?? 1)) * 1_000_000_000
                return .retry(afterNanoseconds: max(delay, 50_000_000), node: node)
            case 422 where code == "tx.nonce_gap" && state.records[index].retriesNonceGaps && state.records[index].outcome == .sending && now < state.phases[phase]!.giveUpAt:
                // A set-up signer pipelines many nonces over several connections; under load
                // an earlier one can reach the node after the node's gap wait, and the later
                // one is refused. The earlier one is still on its way (or already admitted),
                // so the gap closes: send this one again rather than leave the signer stuck.
                state.phases[phase]!.refusals["\(status) \(code ?? "?") (retried)", default: 0] += 1
                return .retry(afterNanoseconds: 200_000_000, node: node)
            default:
                state.phases[phase]!.rejections["\(status) \(code ?? "?")", default: 0] += 1
                if state.records[index].outcome == .sending { Self.finish(&state, index, as: .rejected) }
                return .done
            }
        }
    }

    /// No answer (connection failed): retry on the next node shortly, within the limits.
    func transportFailure(_ index: Int, node: Int) -> Answer {
        let now = benchNow()
        return state.withLock { state -> Answer in
            let phase = state.records[index].phase
            state.phases[phase]!.transportErrors += 1
            guard state.records[index].outcome == .sending else { return .done }
            if state.records[index].attempts >= state.records[index].maxAttempts || now >= state.phases[phase]!.giveUpAt {
                Self.finish(&state, index, as: .abandoned)
                return .done
            }
            return .retry(afterNanoseconds: 100_000_000, node: (node + 1) % state.queues.count)
        }
    }

    private static func accept(_ state: inout State, _ index: Int, sentAt: UInt64) {
        let previous = state.records[index].outcome
        guard previous != .accepted else { return }
        state.records[index].outcome = .accepted
        state.records[index].acceptedSentAt = sentAt
        if !state.gateOnCommit[state.records[index].job.signer] || state.records[index].committedAt != 0 {
            releaseSlot(&state, index)
        }
        switch previous {
        case .abandoned, .rejected:
            // Given up while the attempt was under way, and admitted after all.
            if state.records[index].committedAt == 0 { state.phases[state.records[index].phase]!.finished -= 1 }
        default:
            break
        }
    }

    /// The job no longer counts against its signer's window: offer the signer's next parked job.
    private static func releaseSlot(_ state: inout State, _ index: Int) {
        guard state.records[index].holdsSlot else { return }
        state.records[index].holdsSlot = false
        let signer = state.records[index].job.signer
        state.inFlight[signer] -= 1
        if let next = state.parked[signer]?.pop() {
            state.inFlight[signer] += 1
            state.records[next].holdsSlot = true
            state.records[next].outcome = .sending
            enqueue(&state, next, node: state.records[next].job.node)
        }
    }

    /// The client gives up on a job (or a node refused it for good): the signer's later jobs
    /// can never be valid, so they are dropped; a signer that may have later ones in a
    /// mempool already (window > 1) is marked poisoned.
    private static func finish(_ state: inout State, _ index: Int, as outcome: BenchOutcome) {
        let signer = state.records[index].job.signer
        state.records[index].outcome = outcome
        if state.records[index].committedAt == 0 { state.phases[state.records[index].phase]!.finished += 1 }
        if state.records[index].holdsSlot {
            state.records[index].holdsSlot = false
            state.inFlight[signer] -= 1
        }
        while let next = state.parked[signer]?.pop() {
            state.records[next].outcome = .dropped
            state.phases[state.records[next].phase]!.finished += 1
        }
        if state.windows[signer] > 1 { state.poisoned.insert(signer) }
    }

    /// Gives up on every job of `range` not admitted yet (the phase's time is over).
    func giveUp(_ range: Range<Int>) {
        state.withLock { state in
            for index in range where state.records[index].committedAt == 0 {
                // Parked jobs of a signer are dropped when its sending one is finished.
                if state.records[index].outcome == .sending { Self.finish(&state, index, as: .abandoned) }
            }
            var signers: Set<Int> = []
            for index in range where state.records[index].outcome == .parked {
                signers.insert(state.records[index].job.signer)
                state.records[index].outcome = .dropped
                state.phases[state.records[index].phase]!.finished += 1
            }
            for signer in signers {
                guard let queue = state.parked[signer] else { continue }
                var kept = IndexQueue()
                for position in queue.head..<queue.items.count where state.records[queue.items[position]].outcome == .parked {
                    kept.push(queue.items[position])
                }
                state.parked[signer] = kept.isEmpty ? nil : kept
            }
        }
    }

    // MARK: - Commits

    /// A committed block seen on the event stream.
    func committed(height: UInt64, ids: [Hash], seenAt: UInt64) {
        state.withLock { state in
            // A stream that resumed on another node may repeat a block.
            guard height > (state.blocks.last?.height ?? 0) else { return }
            state.blocks.append(Block(height: height, transactions: ids.count, seenAt: seenAt))
            for id in ids {
                guard let index = state.index[id] else {
                    state.foreignCommitted += 1
                    continue
                }
                guard state.records[index].committedAt == 0 else { continue }
                state.records[index].committedAt = seenAt
                state.records[index].height = height
                let phase = state.records[index].phase
                state.phases[phase]!.committed += 1
                switch state.records[index].outcome {
                case .abandoned, .rejected, .dropped: state.phases[phase]!.finished -= 1
                case .accepted: Self.releaseSlot(&state, index)
                default: break
                }
            }
        }
    }

    // MARK: - Reading

    /// Offered jobs of `phase` neither committed nor finished.
    func outstanding(phase: Int) -> Int {
        state.withLock { state in
            guard let counters = state.phases[phase] else { return 0 }
            return counters.released - counters.committed - counters.finished
        }
    }

    /// Jobs of `range` the drain still waits for: offered and neither committed nor given
    /// up, or accepted and not yet seen committed.
    func unsettled(_ range: Range<Int>) -> Int {
        state.withLock { state in
            var count = 0
            for index in range where state.records[index].committedAt == 0 {
                switch state.records[index].outcome {
                case .parked, .sending, .accepted: count += 1
                default: break
                }
            }
            return count
        }
    }

    func counters(phase: Int) -> PhaseCounters { state.withLock { $0.phases[phase] ?? PhaseCounters() } }
    func records(_ range: Range<Int>) -> [Record] { state.withLock { Array($0.records[range]) } }
    func blocks() -> [Block] { state.withLock { $0.blocks } }
    var tipHeight: UInt64 { state.withLock { $0.blocks.last?.height ?? 0 } }
    var committedTotal: Int { state.withLock { state in state.blocks.reduce(0) { $0 + $1.transactions } } }
    var poisoned: Set<Int> { state.withLock { $0.poisoned } }
    var foreignCommitted: Int { state.withLock { $0.foreignCommitted } }
}
