import Logging
import Foundation
import KizunaCore
import KizunaChain
import KizunaLedger
import KizunaNode
import Synchronization

/// The console's maintained summaries, kept in memory and extended as blocks commit, so a
/// page is answered without scanning the chain (docs/console.md, "Where the figures come
/// from"):
/// - blocks and transactions per minute over the last hour of chain time, from the blocks
///   themselves (on start, only the last hour's blocks are read: a binary search finds them);
/// - samples of supply and of every program's granted and remaining amounts, taken from the
///   state's counters each time the tip moves (at most once per poll). They begin when the
///   process starts; a long history is thinned, never dropped;
/// - the payment aggregates of the last 30 closed days (`ChainReports.paymentAggregates`,
///   the API's rule), computed once per newly closed day.
final class ConsoleIndex: Sendable {
    struct ProgramPoint: Sendable {
        var id: UInt64
        var granted: UInt64
        var remaining: UInt64
    }

    struct Sample: Sendable {
        var time: UInt64
        var height: UInt64
        /// Outstanding per asset, in `Asset.allCases` order.
        var outstanding: [UInt64]
        var programs: [ProgramPoint]
    }

    struct Minute: Sendable {
        var blocks = 0
        var transactions = 0
    }

    struct State: Sendable {
        var indexedHeight: UInt64 = 0
        var minutes: [UInt64: Minute] = [:]
        var samples: [Sample] = []
        var aggregates: (closedThrough: UInt32?, value: ChainReports.Aggregates)?
        /// Whether the aggregates are being computed now (by one caller only).
        var aggregatesComputing = false
        /// How many times they were computed since the process started.
        var aggregateComputations = 0
    }

    static let minutesKept: UInt64 = 60
    static let samplesMax = 2000
    static let aggregateDays = 30

    let node: Node
    private let state = Mutex(State())
    /// One refresh at a time; a request that finds one running uses the figures as they are.
    private let refreshing = Mutex(false)

    init(node: Node) { self.node = node }

    /// Extends the summaries to the tip. Cheap when the tip has not moved.
    func refresh() throws {
        let started = refreshing.withLock { running in
            if running { return false }
            running = true
            return true
        }
        guard started else { return }
        defer { refreshing.withLock { $0 = false } }
        let tip = try node.tip()
        let indexed = state.withLock { $0.indexedHeight }
        guard tip.height > indexed else { return }
        // Blocks older than the kept window are not read, even on the first refresh.
        let windowStart = tip.timestamp > Self.minutesKept * 60_000 ? tip.timestamp - Self.minutesKept * 60_000 : 0
        var from = indexed + 1
        if try timestamp(of: from) < windowStart {
            var low = from, high = tip.height
            while low < high {
                let middle = low + (high - low) / 2
                if try timestamp(of: middle) < windowStart { low = middle + 1 } else { high = middle }
            }
            from = low
        }
        var counted: [UInt64: Minute] = [:]
        var height = from
        while height <= tip.height {
            guard let block = try node.block(at: height) else { throw ChainError(.missingBlock, "block \(height) is missing") }
            counted[block.header.timestamp / 60_000, default: Minute()].blocks += 1
            counted[block.header.timestamp / 60_000, default: Minute()].transactions += block.transactions.count
            height += 1
        }
        let chain = try node.chain(at: nil)
        let reports = LedgerReports(store: chain.store, genesis: node.genesis)
        let supply = try reports.supply()
        let programs = try reports.programs()
        let sample = Sample(time: tip.timestamp, height: tip.height, outstanding: supply.map(\.outstanding),
                            programs: programs.map { ProgramPoint(id: $0.id, granted: $0.granted, remaining: $0.remaining) })
        state.withLock { state in
            for (minute, value) in counted {
                state.minutes[minute, default: Minute()].blocks += value.blocks
                state.minutes[minute, default: Minute()].transactions += value.transactions
            }
            let oldest = tip.timestamp / 60_000 >= Self.minutesKept ? tip.timestamp / 60_000 - Self.minutesKept : 0
            state.minutes = state.minutes.filter { $0.key > oldest }
            state.indexedHeight = tip.height
            state.samples.append(sample)
            if state.samples.count > Self.samplesMax {
                // Thin the older half to every other sample: the range stays, the density halves.
                let half = state.samples.count / 2
                state.samples = state.samples[..<half].enumerated().filter { $0.offset % 2 == 0 }.map(\.element) + state.samples[half...]
            }
        }
    }

    private func timestamp(of height: UInt64) throws -> UInt64 {
        guard let header = try node.header(at: height) else { throw ChainError(.missingBlock, "block \(height) is missing") }
        return header.timestamp
    }

    /// Blocks and transactions per minute for the kept window ending at the tip's minute
    /// (minutes without a block are zero).
    func perMinute(tipTime: UInt64) -> [(minute: UInt64, value: Minute)] {
        let minutes = state.withLock { $0.minutes }
        let last = tipTime / 60_000
        let first = last >= Self.minutesKept - 1 ? last - (Self.minutesKept - 1) : 0
        return (first...last).map { ($0, minutes[$0] ?? Minute()) }
    }

    var samples: [Sample] { state.withLock { $0.samples } }

    /// The aggregates of the last 30 closed days, recomputed when another day has closed.
    /// The payment aggregates of the last 30 closed days, computed once per newly closed day.
    ///
    /// On a large chain that takes tens of seconds (36.9 s at a million transactions), so one
    /// computation runs at a time: a caller that finds one running gets the figures of the
    /// previous closed day, or nil when there are none yet ("being computed"), and never
    /// starts a second one beside it.
    func recentAggregates() throws -> ChainReports.Aggregates? {
        let tip = try node.tip()
        guard tip.height > 0 else {
            // No block: nothing is closed (an empty answer).
            return try ChainReports.paymentAggregates(blocks: try node.chain(at: nil), fromDay: 19700101, toDay: 19700101)
        }
        let tipDay = LedgerCalendar.japanDayAndHour(tip.timestamp).day
        let closed = LedgerCalendar.dayBefore(tipDay)
        let mustCompute = state.withLock { state -> Bool in
            if let cached = state.aggregates, cached.closedThrough == closed { return false }
            if state.aggregatesComputing { return false }
            state.aggregatesComputing = true
            return true
        }
        guard mustCompute else { return state.withLock { $0.aggregates?.value } }
        defer { state.withLock { $0.aggregatesComputing = false } }
        var from = closed ?? tipDay
        for _ in 1..<Self.aggregateDays { from = LedgerCalendar.dayBefore(from) ?? from }
        let value = try ChainReports.paymentAggregates(blocks: try node.chain(at: nil), height: tip.height, fromDay: from, toDay: closed ?? tipDay)
        state.withLock {
            $0.aggregates = (value.closedThroughDay, value)
            $0.aggregateComputations += 1
        }
        return value
    }

    /// How many times the aggregates were computed since the process started.
    var aggregateComputations: Int { state.withLock { $0.aggregateComputations } }

    /// Marks a computation as running (tests: what a second caller sees meanwhile).
    func markAggregatesComputing(_ computing: Bool) {
        state.withLock { $0.aggregatesComputing = computing }
    }
}
