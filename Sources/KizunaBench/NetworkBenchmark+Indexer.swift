import KizunaCore
import PostgresNIO
import Foundation
import Synchronization

/// `kizuna bench network --indexer-postgres URL`: a real `kizuna index` process follows the
/// first validator during the run, and its lag behind the tip is sampled during the max
/// scenario (issue 21's measure; docs/benchmarks.md).
extension NetworkBenchmark {
    public struct IndexerLag: Codable, Sendable {
        /// The validator the indexer reads from.
        public var node: String
        public var pollMilliseconds: Int
        /// How often the indexed height was asked to be read from PostgreSQL, and the mean
        /// interval between the samples taken (longer on a busy machine).
        public var sampleMilliseconds: Int
        public var meanSampleIntervalMilliseconds: Double
        public var samples: Int
        /// Per sample during the max scenario: the tip (the highest block the benchmark has
        /// seen committed) minus the indexed height.
        public var blocksBehind: Percentiles
        /// Per block committed during the max scenario: from the benchmark seeing it committed
        /// on a node's event stream to the first sample that found it indexed (so up to one
        /// sample interval late), in seconds.
        public var secondsBehind: Percentiles
        public var blocks: Int
        public var transactions: Int
        /// The index reached the tip the network had at the end of the scenario.
        public var caughtUp: Bool
        public var caughtUpSecondsAfterPhase: Double
        /// The indexer process's CPU (1.0 = one core busy) during the scenario.
        public var indexerCores: Double
        public var indexerPeakRSSBytes: UInt64
        /// The machine's 1-minute load average at the start and end of the scenario.
        public var loadAverageStart: Double
        public var loadAverageEnd: Double
    }
}

/// The indexed heights read during a scenario, with when they were read.
final class BenchIndexSamples: Sendable {
    struct Sample: Sendable {
        var at: UInt64
        var tip: UInt64
        var indexed: UInt64
    }

    private let samples = Mutex<[Sample]>([])
    func append(_ sample: Sample) { samples.withLock { $0.append(sample) } }
    var all: [Sample] { samples.withLock { $0 } }
    var lastIndexed: UInt64 { samples.withLock { $0.last?.indexed ?? 0 } }
}

extension BenchRunner {
    static let indexerName = "indexer"
    static let indexerDatabase = "kizuna_bench_network_index"

    /// Starts `kizuna index` on the first validator, into a new database of the server at
    /// `url` (dropped first if it exists), with the indexer's defaults but `pollMilliseconds`.
    func startIndexer(url: String, network: BenchNetworkProcesses) async throws -> BenchPostgres {
        let postgres = try BenchPostgres(url: url)
        try await postgres.recreate(database: Self.indexerDatabase)
        let folder = network.folder + "/" + Self.indexerName
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((BenchNetworkProcesses.memberToken + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/member.token"))
        let configuration = """
        genesisFile = "\(network.folder)/genesis.json"
        logLevel = "info"
        [node]
        url = "http://\(Self.host):\(network.nodes[Self.names[0]]!.apiPort)"
        tokenFile = "member.token"
        [postgres]
        host = "\(postgres.host)"
        port = \(postgres.port)
        user = "\(postgres.user)"
        database = "\(Self.indexerDatabase)"
        [indexer]
        pollMilliseconds = \(options.indexerPollMilliseconds)

        """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: folder + "/indexer.toml"))
        let pid = try network.spawn(Self.indexerName, arguments: [network.executable, "index", "--config", folder + "/indexer.toml"], log: folder + "/index.log")
        progress("started kizuna index (pid \(pid)) following \(Self.names[0]) into \(Self.indexerDatabase) at \(postgres.host):\(postgres.port), polling every \(options.indexerPollMilliseconds) ms; log in \(folder)/index.log")
        return postgres
    }

    /// Reads the indexed height every `sampleMilliseconds` until cancelled.
    func startIndexSampling(postgres: BenchPostgres, samples: BenchIndexSamples, sampleMilliseconds: Int) async throws -> Task<Void, Never> {
        guard let load else { throw BenchError("no load") }
        let connection = try await postgres.connect(Self.indexerDatabase)
        return Task {
            while !Task.isCancelled {
                if let rows = try? await connection.query("SELECT height FROM kizuna.indexer_state", logger: BenchPostgres.logger) {
                    var indexed: UInt64?
                    do {
                        for try await height in rows.decode(Int64.self) { indexed = UInt64(height) }
                    } catch {
                        indexed = nil
                    }
                    if let indexed { samples.append(.init(at: benchNow(), tip: load.tipHeight, indexed: indexed)) }
                }
                try? await Task.sleep(nanoseconds: UInt64(sampleMilliseconds) * 1_000_000)
            }
            try? await connection.close()
        }
    }

    /// Runs the max scenario with the indexer's lag sampled, then waits (up to the drain
    /// time without progress) for the index to reach the tip the scenario ended at.
    func runMaxWithIndexer(postgres: BenchPostgres, _ body: () async throws -> NetworkBenchmark.PhaseResult) async throws -> (NetworkBenchmark.PhaseResult, NetworkBenchmark.IndexerLag) {
        guard let load, let network else { throw BenchError("no load") }
        let sampleMilliseconds = 100
        let samples = BenchIndexSamples()
        let sampling = try await startIndexSampling(postgres: postgres, samples: samples, sampleMilliseconds: sampleMilliseconds)
        let pid = network.pid(Self.indexerName)
        let cpuBefore = pid.flatMap(BenchProcessStats.cpuSeconds) ?? 0
        let loadStart = BenchProcessStats.loadAverage()
        let start = benchNow()
        let phase = try await body()
        let end = benchNow()
        let cpuAfter = pid.flatMap(BenchProcessStats.cpuSeconds) ?? 0
        let loadEnd = BenchProcessStats.loadAverage()
        let tipAtEnd = load.tipHeight
        // Catching up: every block of the scenario needs the sample that found it indexed.
        var lastIndexed = samples.lastIndexed
        var deadline = benchNow() + UInt64(options.drainSeconds * 1e9)
        while samples.lastIndexed < tipAtEnd && benchNow() < deadline && (pid.map(BenchProcessStats.isAlive) ?? false) {
            if samples.lastIndexed > lastIndexed {
                lastIndexed = samples.lastIndexed
                deadline = benchNow() + UInt64(options.drainSeconds * 1e9)
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        let caughtUpAt = benchNow()
        sampling.cancel()
        await sampling.value
        let all = samples.all
        let caughtUp = (all.last?.indexed ?? 0) >= tipAtEnd
        if !caughtUp { errors.append("the indexer reached height \(all.last?.indexed ?? 0) of \(tipAtEnd) after the max scenario; see \(network.folder)/\(Self.indexerName)/index.log") }
        let during = all.filter { $0.at >= start && $0.at <= end }
        let blocks = load.blocks().filter { $0.seenAt >= start && $0.seenAt <= end }
        var seconds: [Double] = []
        var cursor = 0
        for block in blocks.sorted(by: { $0.height < $1.height }) {
            while cursor < all.count && (all[cursor].indexed < block.height || all[cursor].at < block.seenAt) { cursor += 1 }
            guard cursor < all.count else { break }
            seconds.append(Double(all[cursor].at - block.seenAt) / 1e9)
        }
        let lag = NetworkBenchmark.IndexerLag(
            node: Self.names[0], pollMilliseconds: options.indexerPollMilliseconds, sampleMilliseconds: sampleMilliseconds,
            meanSampleIntervalMilliseconds: during.count > 1 ? Double(during.last!.at - during.first!.at) / 1e6 / Double(during.count - 1) : 0, samples: during.count,
            blocksBehind: .of(during.map { Double($0.tip > $0.indexed ? $0.tip - $0.indexed : 0) }), secondsBehind: .of(seconds),
            blocks: blocks.count, transactions: blocks.reduce(0) { $0 + $1.transactions }, caughtUp: caughtUp,
            caughtUpSecondsAfterPhase: Double(caughtUpAt - end) / 1e9, indexerCores: (cpuAfter - cpuBefore) / max(Double(end - start) / 1e9, 1e-9),
            indexerPeakRSSBytes: pid.flatMap(BenchProcessStats.peakRSSBytes) ?? 0, loadAverageStart: loadStart, loadAverageEnd: loadEnd
        )
        progress(String(format: "indexer at max: %d blocks behind at p50, %.0f at p99, %.0f at most; %.2f s behind at p50, %.2f s at p99, %.2f s at most (%d blocks, %d samples, one per %.0f ms); caught up: %@; %.2f cores; load average %.2f → %.2f",
                        Int(lag.blocksBehind.p50), lag.blocksBehind.p99, lag.blocksBehind.max, lag.secondsBehind.p50, lag.secondsBehind.p99, lag.secondsBehind.max,
                        lag.blocks, lag.samples, lag.meanSampleIntervalMilliseconds, caughtUp ? "yes" : "NO", lag.indexerCores, loadStart, loadEnd))
        return (phase, lag)
    }
}
