/// Spike admission control (docs/api.md §6, docs/operations.md): the mempool takes no more
/// than the network can commit within the latency target, and refuses the rest at once with
/// `mempool.overloaded` and a `Retry-After` computed from the measured commit rate — so that
/// what *is* admitted commits quickly instead of everything waiting behind a queue that only
/// grows (a campaign launch).
///
/// A pure state machine: the node tells it the lanes' backlog and each commit (with the
/// wall-clock time, the only clock it sees, passed in), and asks it whether a submission may
/// enter. No floating point: rates are whole transactions per second.
public struct AdmissionControl: Sendable, Equatable {
    public struct Settings: Sendable, Equatable, Codable {
        /// Off: only the mempool's own bounds apply (`mempool.full`).
        public var enabled: Bool
        /// How long an admitted transaction may wait in the mempool at the measured commit
        /// rate: the payment lane's budget is rate × this. Below the latency target, since a
        /// transaction also waits for its block's round.
        public var queueMilliseconds: UInt64
        /// The operations lane's budget as a percentage of the payment lane's, on top of it.
        public var operationsLanePercent: UInt64
        /// The commit rate assumed before one was measured (transactions per second).
        public var initialTransactionsPerSecond: UInt64
        /// A lane's budget is never below this (an idle network measured nothing yet).
        public var laneTransactionsMin: UInt64
        /// Under load (a lane at least half full) one account may hold at most this many
        /// pending transactions in the lane, and one client at most its fair share of it.
        public var accountTransactionsUnderLoadMax: Int
        /// How long a submission whose nonce leaves a gap waits for the earlier nonces (sent
        /// on other connections) before it is refused with `tx.nonce_gap`.
        public var nonceGapWaitMilliseconds: UInt64

        public init(enabled: Bool = true, queueMilliseconds: UInt64 = 1000, operationsLanePercent: UInt64 = 25,
                    initialTransactionsPerSecond: UInt64 = 500, laneTransactionsMin: UInt64 = 200, accountTransactionsUnderLoadMax: Int = 8,
                    nonceGapWaitMilliseconds: UInt64 = 500) {
            self.enabled = enabled
            self.queueMilliseconds = queueMilliseconds
            self.operationsLanePercent = operationsLanePercent
            self.initialTransactionsPerSecond = initialTransactionsPerSecond
            self.laneTransactionsMin = laneTransactionsMin
            self.accountTransactionsUnderLoadMax = accountTransactionsUnderLoadMax
            self.nonceGapWaitMilliseconds = nonceGapWaitMilliseconds
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case enabled, queueMilliseconds, operationsLanePercent, initialTransactionsPerSecond, laneTransactionsMin, accountTransactionsUnderLoadMax, nonceGapWaitMilliseconds
        }
    }

    public let settings: Settings
    /// The estimated commit capacity, transactions per second.
    public private(set) var ratePerSecond: UInt64
    private var lastCommitAt: UInt64?
    /// Pending transactions per lane (`AdmissionLane.rawValue`), as the node last reported.
    public private(set) var backlog = [Int](repeating: 0, count: AdmissionLane.allCases.count)
    /// Pending transactions per API client (its address), for the fair share.
    private var pendingByClient: [String: Int] = [:]

    public init(settings: Settings) {
        self.settings = settings
        self.ratePerSecond = max(1, settings.initialTransactionsPerSecond)
    }

    /// How many transactions `lane` may hold now.
    public func budget(_ lane: AdmissionLane) -> Int {
        let payments = max(settings.laneTransactionsMin, ratePerSecond.multipliedReportingOverflow(by: settings.queueMilliseconds).partialValue / 1000)
        switch lane {
        case .payments: return Int(clamping: payments)
        case .operations: return Int(clamping: max(settings.laneTransactionsMin, payments * settings.operationsLanePercent / 100))
        }
    }

    /// Seconds until the backlog has committed at the measured rate (at least 1): the
    /// `Retry-After` of a refusal.
    public var retryAfterSeconds: UInt64 {
        let pending = UInt64(backlog.reduce(0, +))
        return min(60, max(1, (pending + ratePerSecond - 1) / ratePerSecond))
    }

    public struct Refusal: Error, Sendable, Equatable {
        public let lane: AdmissionLane
        public let message: String
        public let retryAfterSeconds: UInt64
    }

    /// Whether a submission in `lane` from `client` (nil: not from the API) by an account
    /// that already holds `accountPending` transactions in the mempool may enter.
    public func check(lane: AdmissionLane, client: String?, accountPending: Int) -> Refusal? {
        guard settings.enabled else { return nil }
        let budget = budget(lane)
        let pending = backlog[lane.rawValue]
        if pending >= budget {
            return Refusal(lane: lane, message: "the network holds \(pending) pending \(lane) transactions, what it commits in \(settings.queueMilliseconds) ms at \(ratePerSecond) tx/s; retry in \(retryAfterSeconds) s", retryAfterSeconds: retryAfterSeconds)
        }
        guard pending * 2 >= budget else { return nil }
        if accountPending >= settings.accountTransactionsUnderLoadMax {
            return Refusal(lane: lane, message: "under load an account may hold \(settings.accountTransactionsUnderLoadMax) pending transactions; this one holds \(accountPending)", retryAfterSeconds: retryAfterSeconds)
        }
        if let client, pendingByClient.count > 1 {
            let share = max(1, budget / pendingByClient.count)
            if let held = pendingByClient[client], held >= share {
                return Refusal(lane: lane, message: "under load each of the \(pendingByClient.count) clients may hold \(share) pending transactions; this client holds \(held)", retryAfterSeconds: retryAfterSeconds)
            }
        }
        return nil
    }

    /// The mempool's backlog per lane, after every change.
    public mutating func setBacklog(_ counts: [Int]) {
        backlog = counts
    }

    /// A transaction from `client` entered the mempool.
    public mutating func clientAdmitted(_ client: String) {
        pendingByClient[client, default: 0] += 1
    }

    /// A transaction from `client` left the mempool (committed, rejected, replaced, expired).
    public mutating func clientReleased(_ client: String) {
        guard let held = pendingByClient[client] else { return }
        pendingByClient[client] = held > 1 ? held - 1 : nil
    }

    /// A block committed `accepted` transactions at `nowMilliseconds`, when `demand`
    /// transactions were pending. The sample is the block's transactions over the time since
    /// the previous commit.
    ///
    /// The budget bounds the demand, so most samples show what was admitted, not what the
    /// network could do: following them down would shrink the budget, hence the blocks, hence
    /// the samples — a spiral to the floor (measured: at a 500 ms queue target the blocks fell
    /// to 16 transactions). So a higher sample raises the estimate quickly (¼ weight), and a
    /// lower one lowers it slowly (1/16), only while transactions were left waiting (`demand`
    /// above `accepted`: the network was busy, so a slower block means a slower network).
    public mutating func observeCommit(accepted: Int, demand: Int, nowMilliseconds: UInt64) {
        defer { lastCommitAt = nowMilliseconds }
        guard let last = lastCommitAt, nowMilliseconds > last, accepted > 0 else { return }
        let sample = max(1, UInt64(accepted) * 1000 / (nowMilliseconds - last))
        if sample > ratePerSecond {
            ratePerSecond = (ratePerSecond * 3 + sample) / 4
        } else if demand > accepted {
            ratePerSecond = max(1, (ratePerSecond * 15 + sample) / 16)
        }
    }
}
