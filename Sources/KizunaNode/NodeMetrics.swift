import Foundation
import NIOConcurrencyHelpers
public import Prometheus

/// The node's Prometheus metrics: counters and gauges, optionally with one label, and the
/// histograms of a Prometheus registry (swift-prometheus) — commit latency, block interval,
/// mempool wait, and, once the process bootstraps swift-metrics with `registry`, the API's
/// request durations per route — rendered in the text exposition format (version 0.0.4) at
/// `GET /metrics` on the operator port. Names and meanings are listed in
/// `docs/operations.md`. Thread-safe; cheap enough to update on every event.
public final class NodeMetrics: Sendable {
    public enum Kind: String, Sendable { case counter, gauge }

    struct Family: Sendable {
        var kind: Kind
        var help: String
        /// Value by label value ("" when the family has no label).
        var values: [String: Double]
        var label: String?
    }

    private let families = NIOLockedValueBox<[String: Family]>([:])
    private let collectors = NIOLockedValueBox<[@Sendable (NodeMetrics) -> Void]>([])

    /// The histograms' registry; `NodeRunner` bootstraps swift-metrics with it, so that
    /// libraries' metrics (Hummingbird's per-route request durations) land here too.
    public let registry = PrometheusCollectorRegistry()
    private let commitLatency: DurationHistogram
    private let blockInterval: DurationHistogram
    private let mempoolWait: DurationHistogram
    private let lastBlockTimestamp = NIOLockedValueBox<UInt64?>(nil)

    /// Bucket bounds (seconds) of the consensus histograms: from a fast local commit to a
    /// round that timed out several times.
    public static let consensusBucketsSeconds: [Double] = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30]
    /// Bucket bounds (seconds) of the mempool wait: admission to commit.
    public static let mempoolBucketsSeconds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300]

    /// Bucket bounds (seconds) of the API's request durations.
    public static let apiBucketsSeconds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]

    public static func durations(_ seconds: [Double]) -> [Duration] { seconds.map { .milliseconds(Int64(($0 * 1000).rounded())) } }

    public init() {
        commitLatency = registry.makeDurationHistogram(name: "kizuna_commit_latency_seconds", buckets: Self.durations(Self.consensusBucketsSeconds),
                                                       help: "Time from the previous commit to this one, as the consensus engine sees it.")
        blockInterval = registry.makeDurationHistogram(name: "kizuna_block_interval_seconds", buckets: Self.durations(Self.consensusBucketsSeconds),
                                                       help: "Difference of consecutive committed blocks' timestamps.")
        mempoolWait = registry.makeDurationHistogram(name: "kizuna_mempool_wait_seconds", buckets: Self.durations(Self.mempoolBucketsSeconds),
                                                     help: "Time a committed transaction waited from admission on this node to its commit.")
        declare("kizuna_height", .gauge, "Height of the committed tip.")
        declare("kizuna_round", .gauge, "Consensus round at the height being decided.")
        declare("kizuna_committed_transactions_total", .counter, "Transactions committed in blocks.")
        declare("kizuna_committed_blocks_total", .counter, "Blocks committed (by consensus, alone, or by sync).")
        declare("kizuna_commit_latency_seconds_last", .gauge, "Time from the previous commit to the last commit.")
        declare("kizuna_mempool_transactions", .gauge, "Pending transactions in the mempool.")
        declare("kizuna_peers", .gauge, "Authenticated peer connections.")
        declare("kizuna_peer_refusals_total", .counter, "Peer connections refused or closed for a protocol error, by code.", label: "code")
        declare("kizuna_peer_frames_dropped_total", .counter, "Frames to a slow peer dropped because its queue was full.")
        declare("kizuna_missed_precommits_total", .counter, "Commits whose certificate lacks the validator's precommit, by validator.", label: "validator")
        declare("kizuna_blocks_synced_total", .counter, "Blocks fetched from peers by block sync and committed.")
        declare("kizuna_sync_blocks_behind", .gauge, "Blocks this node is behind the highest height a peer reported, while it syncs (0 when caught up).")
        declare("kizuna_signer_refusals_total", .counter, "Signing requests the signer refused (its record forbids them).")
        declare("kizuna_gossiped_transactions_total", .counter, "Transactions received from peers and admitted to the mempool.")
        declare("kizuna_admission_refusals_total", .counter, "Submissions refused at admission (they cannot apply, or admission control refused them), by code.", label: "code")
        declare("kizuna_admission_overloaded_total", .counter, "Submissions refused by admission control inside the node, by lane.", label: "lane")
        declare("kizuna_admission_rechecked_accounts_total", .counter, "Accounts whose pending chain was checked again after a commit (the block could have changed its verdict).")
        declare("kizuna_admission_recheck_skipped_accounts_total", .counter, "Accounts whose pending chain was not checked again after a commit: the block wrote nothing it read and its time rules did not change.")
        declare("kizuna_admission_rate_transactions_per_second", .gauge, "The commit rate admission control measures (transactions per second).")
        declare("kizuna_consensus_journal_votes_dropped_total", .counter, "Peers' votes not journaled because the height's journal reached its bound.")
        declare("kizuna_consensus_inbox_dropped_total", .counter, "Peer inputs dropped because the consensus engine's inbox held its bound (peers re-send what matters).")
        declare("kizuna_consensus_timers", .gauge, "Consensus timeouts scheduled and not yet fired or passed.")
        declare("kizuna_commit_waiters_refused_total", .counter, "Submissions with wait=commit answered pending at once because commitWaitersMax requests were already waiting.")
        declare("kizuna_deferred_dropped_total", .counter, "Transactions a proposal left out and rejected for good (mempool.full) because deferredTransactionsMax already waited for the next commit.")
        declare("kizuna_validators", .gauge, "Validators in the set deciding the next block (governance may change it, ADR 0018).")
        declare("kizuna_consensus_nonmember_messages_total", .counter, "Consensus messages dropped because their signer is not in the validator set of their height.")
        declare("kizuna_gossip_transactions_dropped_total", .counter, "Transactions gossiped by peers and dropped unverified because the node was still verifying earlier batches (saturated).")
        declare("kizuna_state_value_cache_hits_total", .counter, "State reads the store answered from its state value cache (stateValueCacheMiB) since it opened.")
        declare("kizuna_state_value_cache_misses_total", .counter, "State reads the store answered from RocksDB since it opened (the cache did not hold the key, or is off).")
        declare("kizuna_state_value_cache_entries", .gauge, "State values (and known-absent keys) the store's cache holds now.")
        declare("kizuna_state_value_cache_bytes", .gauge, "Bytes charged against stateValueCacheMiB now: keys, values and a fixed overhead per entry.")
        declare("kizuna_state_tree_cache_hits_total", .counter, "State-tree pages above stateTreeCacheLevels found in memory since the node started.")
        declare("kizuna_state_tree_cache_misses_total", .counter, "State-tree pages above stateTreeCacheLevels read from RocksDB since the node started (pages below it are always read from RocksDB and not counted).")
        declare("kizuna_signature_verifications_total", .counter, "Transactions whose signatures this node verified, by where they came from: api (a submission), gossip (a peer's batch), proposal (in a proposed block and not in the mempool), sync (in a block fetched by block sync).", label: "path")
    }

    public func declare(_ name: String, _ kind: Kind, _ help: String, label: String? = nil) {
        families.withLockedValue { $0[name] = Family(kind: kind, help: help, values: label == nil ? ["": 0] : [:], label: label) }
    }

    public func set(_ name: String, _ value: Double, label: String = "") {
        families.withLockedValue { $0[name]?.values[label] = value }
    }

    public func add(_ name: String, _ amount: Double = 1, label: String = "") {
        families.withLockedValue { $0[name]?.values[label, default: 0] += amount }
    }

    public func value(_ name: String, label: String = "") -> Double? {
        families.withLockedValue { $0[name]?.values[label] }
    }

    /// One commit's latency (milliseconds since the previous commit).
    public func observeCommitLatency(milliseconds: UInt64) {
        commitLatency.record(.milliseconds(Int64(clamping: milliseconds)))
    }

    /// A committed block's timestamp: records the interval from the previous one seen.
    public func observeBlock(timestamp: UInt64) {
        let previous = lastBlockTimestamp.withLockedValue { last in
            defer { last = timestamp }
            return last
        }
        if let previous, timestamp > previous {
            blockInterval.record(.milliseconds(Int64(clamping: timestamp - previous)))
        }
    }

    /// How long a committed transaction waited in this node's mempool.
    public func observeMempoolWait(milliseconds: UInt64) {
        mempoolWait.record(.milliseconds(Int64(clamping: milliseconds)))
    }

    /// The exposition text: the counters and gauges (families and labels in sorted order),
    /// then the registry's histograms and whatever libraries recorded into it.
    public func render() -> String {
        for collect in collectors.withLockedValue({ $0 }) { collect(self) }
        return renderFamilies() + registry.emitToString()
    }

    /// Runs `collect` before each rendering, so that values kept elsewhere (the store's cache
    /// statistics) are read when Prometheus scrapes, not on every event.
    public func addCollector(_ collect: @escaping @Sendable (NodeMetrics) -> Void) {
        collectors.withLockedValue { $0.append(collect) }
    }

    func renderFamilies() -> String {
        let snapshot = families.withLockedValue { $0 }
        var text = ""
        for name in snapshot.keys.sorted() {
            guard let family = snapshot[name] else { continue }
            text += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.kind.rawValue)\n"
            for labelValue in family.values.keys.sorted() {
                let value = family.values[labelValue] ?? 0
                let rendered = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                if let label = family.label {
                    let escaped = labelValue.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
                    text += "\(name){\(label)=\"\(escaped)\"} \(rendered)\n"
                } else {
                    text += "\(name) \(rendered)\n"
                }
            }
        }
        return text
    }
}
