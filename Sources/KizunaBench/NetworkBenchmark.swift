import KizunaCore
import NIOCore
import KizunaNetwork
public import KizunaRocksDB
import Foundation
import Synchronization
import Dispatch

/// `kizuna bench network`: the four-validator network as child processes on 127.0.0.1, loaded
/// over HTTP the way wallets load it, with the machine's own limits measured in the same run
/// (issue 8; `docs/benchmarks.md`).
///
/// A run: measure Ed25519 verifications per second and synced RocksDB batches per second;
/// start four validators on a fresh `local-` genesis; register and fund the residents and
/// merchants; then the scenarios — **max** (as fast as the network commits, the client
/// keeping a bounded number of transactions outstanding), **steady** (a fixed offered rate,
/// half the max: latency), **spike** (payments offered at ten times the max for a bounded
/// time while the normal mix continues at half the max: refusals, Retry-After, memory,
/// recovery) and **sync** (a fresh observer node syncs the whole chain). A transaction counts
/// as finalized only when it is seen in a committed block on a node's event stream.
///
/// ```swift
/// let result = try await NetworkBenchmark(options: .quick(executable: path)).run { print($0) }
/// ```
public struct NetworkBenchmark: Sendable {
    public enum Scenario: String, CaseIterable, Sendable, Codable {
        case max, steady, spike, sync
    }

    public struct Options: Sendable {
        public var scenarios: [Scenario]
        public var residents: Int
        public var merchants: Int
        /// Keep-alive connections per node that submit transactions.
        public var connectionsPerNode: Int
        /// The scratch folder (deleted and recreated).
        public var folder: String
        /// The `kizuna` executable the nodes run.
        public var executable: String
        public var maxSeconds: Double
        public var steadySeconds: Double
        public var spikeSeconds: Double
        public var recoverySeconds: Double
        /// Left out at the start of a phase when computing its finalized rate.
        public var warmupSeconds: Double
        /// How long a phase waits for its accepted transactions to commit.
        public var drainSeconds: Double
        public var syncTimeoutSeconds: Double
        /// In the max scenario: transactions offered but not yet committed, at most.
        public var maxOutstanding: Int
        /// Transactions pre-signed for the max scenario, per second of it.
        public var maxJobsPerSecond: Int
        /// The steady rate; nil: half the measured max.
        public var steadyRate: Double?
        /// The max to base steady and spike on when the max scenario is not run.
        public var assumedMax: Double?
        public var spikeFactor: Double
        /// A payment refused this many times in the spike is given up (a phone app's retries).
        public var spikeAttempts: Int
        public var verifyPerCore: Int
        public var syncedWrites: Int
        public var seed: UInt64
        /// Seconds to keep the nodes running after the scenarios, to inspect or profile them.
        public var holdSeconds: Double = 0
        /// Each node's mempool bound; nil: the node's default (20,000).
        public var mempoolTransactionsMax: Int?
        /// Each node's `admission.queueMilliseconds`; nil: the node's default.
        public var admissionQueueMilliseconds: UInt64?
        /// A PostgreSQL server (`postgres://USER@HOST:PORT/DATABASE`, a role that may create
        /// databases): a `kizuna index` process follows the first validator into a new
        /// database there, and its lag is sampled during the max scenario. nil: no indexer.
        public var indexerPostgresURL: String?
        /// The indexer's `pollMilliseconds` (its own default: 500).
        public var indexerPollMilliseconds = 500
        /// Peer links without encryption (`KIZUNA_DEV_PLAIN_PEER_LINKS`, local chains only): the
        /// baseline of `--compare-links`.
        public var plainPeerLinks = false

        // No public initialiser: other modules start from `full` or `quick` and change fields.

        /// The measurement: 5,000 residents, 200 merchants, phases of 30 s.
        public static func full(executable: String, folder: String = ".kizuna/bench-network") -> Options {
            Options(scenarios: Scenario.allCases, residents: 5000, merchants: 200, connectionsPerNode: 32, folder: folder, executable: executable,
                    maxSeconds: 30, steadySeconds: 30, spikeSeconds: 10, recoverySeconds: 20, warmupSeconds: 5, drainSeconds: 60,
                    syncTimeoutSeconds: 600, maxOutstanding: 1500, maxJobsPerSecond: 2000, steadyRate: nil, assumedMax: nil,
                    spikeFactor: 10, spikeAttempts: 3, verifyPerCore: 20_000, syncedWrites: 300, seed: 8)
        }

        /// For CI: every scenario briefly, on a small population (well under two minutes even
        /// in a debug build).
        public static func quick(executable: String, folder: String = ".kizuna/bench-network") -> Options {
            // A debug build decodes and verifies ~20× slower: small blocks keep every round
            // well inside the consensus timeouts.
            Options(scenarios: Scenario.allCases, residents: 60, merchants: 4, connectionsPerNode: 4, folder: folder, executable: executable,
                    maxSeconds: 4, steadySeconds: 3, spikeSeconds: 2, recoverySeconds: 2, warmupSeconds: 1, drainSeconds: 10,
                    syncTimeoutSeconds: 20, maxOutstanding: 30, maxJobsPerSecond: 30, steadyRate: nil, assumedMax: nil,
                    spikeFactor: 2, spikeAttempts: 3, verifyPerCore: 1000, syncedWrites: 50, seed: 8)
        }
    }

    // MARK: - Results

    public struct Percentiles: Codable, Sendable {
        public var count: Int
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double

        static func of(_ values: [Double]) -> Percentiles {
            guard !values.isEmpty else { return Percentiles(count: 0, p50: 0, p95: 0, p99: 0, max: 0) }
            let sorted = values.sorted()
            // Nearest rank: the smallest value with at least `fraction` of the values at or below it.
            func at(_ fraction: Double) -> Double {
                let rank = Int((Double(sorted.count) * fraction).rounded(.up))
                return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
            }
            return Percentiles(count: sorted.count, p50: at(0.50), p95: at(0.95), p99: at(0.99), max: sorted.last!)
        }
    }

    public struct NodeUsage: Codable, Sendable {
        public var name: String
        public var cpuSeconds: Double
        /// CPU time ÷ wall time: 1.0 is one core busy all the time.
        public var cores: Double
        /// The largest resident set sampled (every 250 ms) during the phase.
        public var peakRSSBytes: UInt64
    }

    public struct PhaseResult: Codable, Sendable {
        public var name: String
        /// nil: as fast as possible (bounded outstanding).
        public var offeredRatePerSecond: Double?
        public var submitSeconds: Double
        public var offered: Int
        /// Pre-signed but not offered before the phase ended.
        public var notOffered: Int
        public var kinds: [String: Int]
        public var accepted: Int
        public var committed: Int
        /// Committed in the measurement window (the submit time minus the warm-up) ÷ its length.
        public var finalizedPerSecond: Double
        public var measuredSeconds: Double
        public var blocksInWindow: Int
        public var transactionsPerBlock: Double
        /// Submit-to-commit: from sending the attempt a node admitted to seeing the block.
        public var latencyMilliseconds: Percentiles
        /// From the moment it was offered (first attempt, retries and waiting included).
        public var latencyFromOfferMilliseconds: Percentiles
        /// Offered → first sent: the client's own queueing (and a signer's previous payment).
        public var clientLagMilliseconds: Percentiles
        public var refusals: [String: Int]
        public var refusalsTotal: Int
        public var refusalsWithRetryAfter: Int
        /// Time to answer a refusal (429/503), from sending to the answer.
        public var refusalAnswerMilliseconds: Percentiles?
        public var abandoned: Int
        public var dropped: Int
        public var rejected: [String: Int]
        public var acceptedNotCommitted: Int
        public var duplicateAnswers: Int
        public var transportErrors: Int
        public var nodes: [NodeUsage]
        public var client: NodeUsage
        /// Pending transactions on one node, sampled every second.
        public var pendingAverage: Double
        public var pendingMax: Int
    }

    public struct Machine: Codable, Sendable {
        public var cores: Int
        public var ed25519VerifyPerSecondOneCore: Double
        public var ed25519VerifyPerSecondAllCores: Double
        /// cores × verify/s ÷ V (V = 4): every validator verifies every transaction once.
        public var signatureBoundTransactionsPerSecond: Double
        public var syncedBatchesPerSecond: Double
    }

    public struct Spike: Codable, Sendable {
        public var offeredRatePerSecond: Double
        public var seconds: Double
        public var payments: PhaseResult
        public var recovery: PhaseResult
        /// Every validator process still running after the spike.
        public var nodesUp: Bool
        public var heightsBefore: [String: UInt64]
        public var heightsAfter: [String: UInt64]
        /// Every node's height advanced over three seconds at the end of the recovery.
        public var heightsAdvancing: Bool
        /// Every admitted transaction of the spike and the normal mix committed (or the drain
        /// gave up after `drainSeconds` without progress).
        public var settled: Bool
        /// From the end of the spike until then.
        public var settledSecondsAfterSpike: Double
    }

    public struct Sync: Codable, Sendable {
        public var targetHeight: UInt64
        public var transactions: Int
        /// From starting the process to reaching the target height.
        public var seconds: Double
        /// From the observer's API answering to reaching the target height.
        public var secondsAfterStart: Double
        public var blocksPerSecond: Double
        public var transactionsPerSecond: Double
        public var sameBlockHash: Bool
        public var observerPeakRSSBytes: UInt64
        public var reached: Bool
    }

    public struct Result: Codable, Sendable {
        public var date: String
        public var build: String
        public var chainId: String
        public var residents: Int
        public var merchants: Int
        public var connectionsPerNode: Int
        /// Each node's mempool bound; nil: the node's default.
        public var mempoolTransactionsMax: Int?
        /// A phase's drain gives up after this long without a commit.
        public var drainSeconds: Double
        public var machine: Machine
        public var setupTransactions: Int
        public var setupSeconds: Double
        public var max: PhaseResult?
        public var steady: PhaseResult?
        public var spike: Spike?
        public var sync: Sync?
        /// max finalized tx/s ÷ the signature bound.
        public var ratioToSignatureBound: Double?
        /// blocks/s in the max phase ÷ synced batches/s.
        public var ratioBlocksToSyncedBatches: Double?
        public var chainHeight: UInt64
        public var chainTransactions: Int
        public var bytesOnDiskPerNode: [String: UInt64]
        public var bytesOnDiskPerTransaction: Double
        /// What one validator's store (`storageNode`) holds per column family, after the run.
        public var storageByFamily: [RocksDBStore.FamilyUsage] = []
        public var storageNode = ""
        /// The same store after a full compaction (ADR 0020): per family, and the whole folder.
        public var storageCompacted: [RocksDBStore.FamilyUsage] = []
        public var bytesOnDiskCompacted: UInt64 = 0
        /// The indexer's lag behind the tip during the max scenario (`indexerPostgresURL`).
        public var indexer: IndexerLag?
        public var nodesPeakRSSBytes: [String: UInt64]
        /// Each validator's signature checks over the whole run, from its metrics
        /// (`kizuna_signature_verifications_total` by path).
        public var signatureChecks: [String: SignatureChecks] = [:]
        public var clientCPUSeconds: Double
        public var seconds: Double
        public var errors: [String]
    }

    /// Where a validator's signature checks came from, over a run (issue 16: a transaction
    /// should cost each node one check; the rest of a node's work per transaction is what
    /// keeps the network below the signature bound).
    public struct SignatureChecks: Codable, Sendable {
        public var api: Double = 0
        public var gossip: Double = 0
        public var proposal: Double = 0
        public var total: Double { api + gossip + proposal }

        /// Reads the counters from a node's Prometheus text; nil when it has none of them.
        public init?(prometheus text: String) {
            var found = false
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let value = Double(parts[1]) else { continue }
                switch parts[0] {
                case "kizuna_signature_verifications_total{path=\"api\"}": api = value
                case "kizuna_signature_verifications_total{path=\"gossip\"}": gossip = value
                case "kizuna_signature_verifications_total{path=\"proposal\"}": proposal = value
                default: continue
                }
                found = true
            }
            if !found { return nil }
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// Runs the benchmark; `progress` gets one line at a time. The nodes are stopped at the
    /// end, also when a step fails.
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let runner = try BenchRunner(options: options, progress: progress)
        return try await runner.run()
    }
}

#if DEBUG
let benchBuildConfiguration = "debug"
#else
let benchBuildConfiguration = "release"
#endif
