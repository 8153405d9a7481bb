import ArgumentParser
import Foundation
import KizunaRocksDB
import KizunaBench
import KizunaNode

/// `kizuna bench network`: the four-validator network under load (issue 8).
struct BenchNetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Measure four validators on 127.0.0.1: finalized tx/s, submit-to-commit latency, a campaign spike, block sync.",
        discussion: """
        Starts four validators of a fresh local- chain as child processes (scratch folder \
        --folder, free ports on 127.0.0.1, the published development keys), registers and funds \
        the residents and merchants, then runs the scenarios over HTTP, spread over the four nodes:
          max     as fast as the network commits (at most --max-outstanding offered and not committed)
          steady  half the measured max (or --rate), for latency
          spike   payments at 10x the max for --spike-seconds while the normal mix goes on at half \
        the max, then --recovery-seconds of the normal mix: refusals (503/429, Retry-After), memory, recovery
          sync    a fresh observer node (the auditor's key) syncs the chain: blocks/s and tx/s
        A transaction counts as finalized only when seen in a committed block on a node's event \
        stream. The same run measures Ed25519 verifications/s on all cores (the bound: cores x \
        verify/s / 4 validators) and synced RocksDB batches/s. Prints a Markdown table; --json \
        writes everything. Build in release for figures (tools/bench-network); --quick runs every \
        scenario briefly and checks only that the network committed something (CI).
        """
    )

    enum ScenarioChoice: String, ExpressibleByArgument, CaseIterable {
        case steady, max, spike, sync, all
    }

    @Option(help: "steady, max, spike, sync or all; repeat to run several in their usual order (--scenario max --scenario sync: the observer syncs the chain max built).") var scenario: [ScenarioChoice] = [.all]
    @Flag(help: "Every scenario briefly on a small population, the spike at 2x (CI; fits a debug build).") var quick = false
    @Option(help: "Residents to register and fund (default 5000; quick 60).") var residents: Int?
    @Option(help: "Merchants to register (default 200; quick 4).") var merchants: Int?
    @Option(help: "Keep-alive connections per node for submissions (default 32; quick 4).") var connections: Int?
    @Option(help: "Seconds of the max scenario.") var maxSeconds: Double?
    @Option(help: "Seconds of the steady scenario.") var steadySeconds: Double?
    @Option(help: "Seconds of the spike.") var spikeSeconds: Double?
    @Option(help: "Seconds of normal load after the spike.") var recoverySeconds: Double?
    @Option(help: "In the max scenario, transactions offered and not yet committed, at most.") var maxOutstanding: Int?
    @Option(help: "Steady offered rate (tx/s); default half the measured max.") var rate: Double?
    @Option(help: "Without the max scenario: the max (tx/s) that steady and spike are based on.") var assumeMax: Double?
    @Option(help: "Spike offered load as a multiple of the max.") var spikeFactor: Double?
    @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench-network"
    @OptionGroup var output: BenchResultFile
    @Option(help: "Seed of the workload.") var seed: UInt64?
    @Option(help: "Each node's mempool bound (pending transactions; default: the node's, 20000). Smaller refuses a spike sooner and keeps the admitted payments' wait shorter.") var mempoolTransactionsMax: Int?
    @Option(help: "Each node's admission.queueMilliseconds (default: the node's, 1000): how much backlog, in time at the measured commit rate, admission control lets in.") var admissionQueueMilliseconds: UInt64?
    @Option(help: "Keep the nodes running this many seconds after the scenarios (to inspect or profile them).") var holdSeconds: Double = 0
    @Option(help: "A PostgreSQL server, postgres://USER@HOST:PORT/DATABASE (a role that may create databases; tools/test-postgres start makes one): a kizuna index process follows the first validator into the new database kizuna_bench_network_index there, and its lag behind the tip is measured in the max scenario.") var indexerPostgres: String?
    @Option(help: "With --indexer-postgres: the indexer's pollMilliseconds (how long it waits at the tip before asking again).") var indexerPollMilliseconds = 500
    @Flag(help: "Run the max scenario twice back to back, with encrypted peer links and then with plain ones (KIZUNA_DEV_PLAIN_PEER_LINKS, local chains only), and print the ratio of their finalized tx/s.") var compareLinks = false

    func run() async throws {
        let executable = Self.currentExecutable()
        var options = quick ? NetworkBenchmark.Options.quick(executable: executable, folder: folder) : .full(executable: executable, folder: folder)
        options.scenarios = NetworkBenchmark.Scenario.allCases.filter { chosen in
            scenario.contains(.all) || scenario.contains { $0.rawValue == chosen.rawValue }
        }
        if let residents { options.residents = residents }
        if let merchants { options.merchants = merchants }
        if let connections { options.connectionsPerNode = connections }
        if let maxSeconds { options.maxSeconds = maxSeconds }
        if let steadySeconds { options.steadySeconds = steadySeconds }
        if let spikeSeconds { options.spikeSeconds = spikeSeconds }
        if let recoverySeconds { options.recoverySeconds = recoverySeconds }
        if let maxOutstanding { options.maxOutstanding = maxOutstanding }
        if let spikeFactor { options.spikeFactor = spikeFactor }
        if let seed { options.seed = seed }
        options.holdSeconds = holdSeconds
        options.indexerPostgresURL = indexerPostgres
        guard (10...600_000).contains(indexerPollMilliseconds) else { throw ValidationError("--indexer-poll-milliseconds must be between 10 and 600000") }
        options.indexerPollMilliseconds = indexerPollMilliseconds
        options.mempoolTransactionsMax = mempoolTransactionsMax
        options.admissionQueueMilliseconds = admissionQueueMilliseconds
        options.steadyRate = rate
        options.assumedMax = assumeMax
        guard options.residents >= 10, options.merchants >= 1, options.connectionsPerNode >= 1 else {
            throw ValidationError("at least 10 residents, 1 merchant and 1 connection per node")
        }
        if let mempoolTransactionsMax, mempoolTransactionsMax < 100 {
            throw ValidationError("--mempool-transactions-max must be at least 100 (the set-up keeps up to 48 pending per authority)")
        }
        if compareLinks {
            try await Self.compareLinks(options)
            return
        }
        let result = try await NetworkBenchmark(options: options).run { line in
            print("bench: \(line)")
            fflush(nil)
        }
        print("")
        print(Self.markdown(result))
        fflush(nil)
        try output.write(result)
        guard result.chainTransactions > 0 else {
            print("bench: the network committed nothing")
            throw ExitCode(1)
        }
        if let lag = result.indexer, !lag.caughtUp {
            print("bench: the indexer did not reach the tip after the max scenario (see its log in the scratch folder)")
            throw ExitCode(1)
        }
    }

    /// The max scenario with encrypted links, then with plain links, on fresh networks of the
    /// same options; prints both tables and the ratio (issue 20's measure of ADR 0008's cost).
    static func compareLinks(_ base: NetworkBenchmark.Options) async throws {
        var rates: [Double] = []
        for plain in [false, true] {
            var options = base
            options.scenarios = [.max]
            options.plainPeerLinks = plain
            let label = plain ? "plain links" : "encrypted links"
            let result = try await NetworkBenchmark(options: options).run { line in
                print("bench (\(label)): \(line)")
                fflush(nil)
            }
            print("\n### \(label)\n")
            print(markdown(result))
            fflush(nil)
            guard let max = result.max, result.chainTransactions > 0 else {
                print("bench: the network with \(label) committed nothing")
                throw ExitCode(1)
            }
            rates.append(max.finalizedPerSecond)
        }
        print(String(format: "| max finalized tx/s: encrypted / plain links | %.0f / %.0f = %.3f |", rates[0], rates[1], rates[1] > 0 ? rates[0] / rates[1] : 0))
    }

    /// This process's own executable: the nodes run the same build.
    static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 { return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments[0]
    }

    static func markdown(_ result: NetworkBenchmark.Result) -> String {
        func number(_ value: Double) -> String {
            let formatter = NumberFormatter()
            formatter.numberStyle = .decimal
            formatter.maximumFractionDigits = value < 10 ? 1 : 0
            return formatter.string(from: NSNumber(value: value)) ?? "\(value)"
        }
        func mebibytes(_ bytes: UInt64) -> String { "\(bytes >> 20)" }
        let machine = result.machine
        var text = """
        | machine (\(result.build) build, \(result.date)) | value |
        |---|---|
        | cores | \(machine.cores) |
        | Ed25519 verify/s, one core / all cores | \(number(machine.ed25519VerifyPerSecondOneCore)) / \(number(machine.ed25519VerifyPerSecondAllCores)) |
        | signature bound: all cores ÷ 4 validators | \(number(machine.signatureBoundTransactionsPerSecond)) tx/s |
        | synced RocksDB batches/s | \(number(machine.syncedBatchesPerSecond)) |
        | population | \(result.residents) residents, \(result.merchants) merchants, \(result.connectionsPerNode) connections per node |
        | mempool bound per node | \(result.mempoolTransactionsMax.map { "\($0)" } ?? "the default (20000)") |
        | set-up (programs, registrations, first charges and thanks) | \(result.setupTransactions) tx in \(number(result.setupSeconds)) s (\(number(Double(result.setupTransactions) / max(result.setupSeconds, 0.001))) tx/s) |

        """
        var phases: [NetworkBenchmark.PhaseResult] = []
        if let max = result.max { phases.append(max) }
        if let steady = result.steady { phases.append(steady) }
        if let spike = result.spike { phases += [spike.payments, spike.recovery] }
        if !phases.isEmpty {
            text += """

            | scenario | offered tx/s | finalized tx/s | ÷ signature bound | submit→commit p50 / p95 / p99 / max ms | tx per block | committed / offered | refused (with Retry-After) | given up | rejected | CPU cores: city, chamber, operator, bank, client | peak RSS MiB: city, chamber, operator, bank |
            |---|---|---|---|---|---|---|---|---|---|---|---|

            """
            for phase in phases {
                let latency = phase.latencyMilliseconds
                let rejected = phase.rejected.values.reduce(0, +) + phase.acceptedNotCommitted
                let cpu = (phase.nodes + [phase.client]).map { String(format: "%.2f", $0.cores) }.joined(separator: ", ")
                let rss = phase.nodes.map { mebibytes($0.peakRSSBytes) }.joined(separator: ", ")
                text += "| \(phase.name) | \(phase.offeredRatePerSecond.map(number) ?? "as fast as possible") | \(number(phase.finalizedPerSecond)) | \(String(format: "%.2f", phase.finalizedPerSecond / machine.signatureBoundTransactionsPerSecond)) | \(number(latency.p50)) / \(number(latency.p95)) / \(number(latency.p99)) / \(number(latency.max)) | \(number(phase.transactionsPerBlock)) | \(phase.committed) / \(phase.offered) | \(phase.refusalsTotal) (\(phase.refusalsWithRetryAfter)) | \(phase.abandoned + phase.dropped) | \(rejected) | \(cpu) | \(rss) |\n"
            }
        }
        text += "\n| result | value |\n|---|---|\n"
        if let ratio = result.ratioToSignatureBound {
            text += "| max finalized tx/s ÷ signature bound (target ≥ 0.6) | \(String(format: "%.2f", ratio)) |\n"
        }
        if let ratio = result.ratioBlocksToSyncedBatches {
            text += "| blocks/s at max ÷ synced batches/s | \(String(format: "%.4f", ratio)) |\n"
        }
        if let steady = result.steady {
            text += "| steady p99 submit→commit (target < 1000 ms) | \(number(steady.latencyMilliseconds.p99)) ms |\n"
        }
        if let spike = result.spike {
            let payments = spike.payments
            let refusals = payments.refusals.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")
            text += "| spike: payments offered at | \(number(spike.offeredRatePerSecond))/s for \(number(spike.seconds)) s |\n"
            text += "| spike: refusals | \(refusals.isEmpty ? "none" : refusals); \(payments.refusalsWithRetryAfter) of \(payments.refusalsTotal) with Retry-After |\n"
            text += "| spike: admitted payments submit→commit p50 / p99 / max | \(number(payments.latencyMilliseconds.p50)) / \(number(payments.latencyMilliseconds.p99)) / \(number(payments.latencyMilliseconds.max)) ms |\n"
            text += "| spike: peak RSS per node (MiB) | \(payments.nodes.map { "\($0.name) \(mebibytes($0.peakRSSBytes))" }.joined(separator: ", ")) |\n"
            text += "| after the spike: every admitted transaction committed | \(spike.settled ? "yes, \(number(spike.settledSecondsAfterSpike)) s after the spike ended" : "NO: nothing committed for the last \(number(result.drainSeconds)) s of \(number(spike.settledSecondsAfterSpike)) s after the spike") |\n"
            text += "| after the spike: nodes up, heights advancing | \(spike.nodesUp ? "yes" : "NO"), \(spike.heightsAdvancing ? "yes" : "NO") (\(spike.heightsAfter.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))) |\n"
        }
        if let sync = result.sync {
            text += "| sync of a new observer | \(sync.targetHeight) blocks, \(sync.transactions) tx in \(String(format: "%.2f", sync.seconds)) s: \(number(sync.blocksPerSecond)) blocks/s, \(number(sync.transactionsPerSecond)) tx/s; same block hash: \(sync.sameBlockHash ? "yes" : "NO") |\n"
        }
        if let lag = result.indexer {
            text += "| indexer at max (kizuna index on \(lag.node), poll \(lag.pollMilliseconds) ms): blocks behind the tip p50 / p99 / max | \(number(lag.blocksBehind.p50)) / \(number(lag.blocksBehind.p99)) / \(number(lag.blocksBehind.max)) (\(lag.samples) samples, one per \(number(lag.meanSampleIntervalMilliseconds)) ms) |\n"
            text += "| indexer at max: seconds from commit to indexed p50 / p99 / max | \(String(format: "%.2f / %.2f / %.2f", lag.secondsBehind.p50, lag.secondsBehind.p99, lag.secondsBehind.max)) (\(lag.blocks) blocks, \(lag.transactions) tx) |\n"
            text += "| indexer at max: CPU cores, peak RSS MiB, caught up after the scenario | \(String(format: "%.2f", lag.indexerCores)), \(mebibytes(lag.indexerPeakRSSBytes)), \(lag.caughtUp ? "yes, \(String(format: "%.1f", lag.caughtUpSecondsAfterPhase)) s after it ended" : "NO") |\n"
            text += "| load average at the max scenario's start / end | \(String(format: "%.2f / %.2f", lag.loadAverageStart, lag.loadAverageEnd)) |\n"
        }
        if let max = result.max {
            text += "| client at max: CPU cores, offered → sent lag p50 / p99 | \(String(format: "%.2f", max.client.cores)), \(number(max.clientLagMilliseconds.p50)) / \(number(max.clientLagMilliseconds.p99)) ms |\n"
            text += "| pending on a node at max: average / largest | \(number(max.pendingAverage)) / \(max.pendingMax) |\n"
        }
        text += "| chain | height \(result.chainHeight), \(result.chainTransactions) transactions |\n"
        text += "| bytes on disk per transaction (a validator's data folder after it stopped, not compacted ÷ transactions) | \(number(result.bytesOnDiskPerTransaction)) |\n"
        if !result.signatureChecks.isEmpty, result.chainTransactions > 0 {
            let perTransaction = { (value: Double) in String(format: "%.2f", value / Double(result.chainTransactions)) }
            let rows = result.signatureChecks.sorted { $0.key < $1.key }.map { name, checks in
                "\(name) \(perTransaction(checks.total)) (\(perTransaction(checks.api)) + \(perTransaction(checks.gossip)) + \(perTransaction(checks.proposal)))"
            }
            text += "| signature checks per committed transaction, whole run: api + gossip + proposal | \(rows.joined(separator: ", ")) |\n"
        }
        text += "| peak RSS over the run (VmHWM, MiB) | \(result.nodesPeakRSSBytes.sorted { $0.key < $1.key }.map { "\($0.key) \(mebibytes($0.value))" }.joined(separator: ", ")) |\n"
        text += "| benchmark client CPU | \(String(format: "%.1f", result.clientCPUSeconds)) s over \(String(format: "%.0f", result.seconds)) s |\n"
        for error in result.errors { text += "| problem | \(error) |\n" }
        if !result.storageByFamily.isEmpty, result.chainTransactions > 0 {
            // Where a validator's bytes are (issue 16): logical bytes from a scan, table files
            // from RocksDB; the rest of the folder is the write-ahead log, manifest and info log.
            let perTransaction = { (bytes: UInt64) in number(Double(bytes) / Double(result.chainTransactions)) }
            let compacted = Dictionary(result.storageCompacted.map { ($0.family, $0.tableFileBytes) }) { first, _ in first }
            text += "\n| column family (\(result.storageNode), after the run) | entries | key + value bytes per transaction | table-file bytes per transaction | after a full compaction |\n|---|---|---|---|---|\n"
            for usage in result.storageByFamily {
                text += "| \(usage.family) | \(usage.entries) | \(perTransaction(usage.keyBytes + usage.valueBytes)) | \(perTransaction(usage.tableFileBytes)) | \(compacted[usage.family].map(perTransaction) ?? "—") |\n"
            }
            let tables = result.storageByFamily.reduce(UInt64(0)) { $0 + $1.tableFileBytes }
            let compactedTables = result.storageCompacted.reduce(UInt64(0)) { $0 + $1.tableFileBytes }
            if let folder = result.bytesOnDiskPerNode[result.storageNode], folder >= tables {
                let rest = result.bytesOnDiskCompacted >= compactedTables ? perTransaction(result.bytesOnDiskCompacted - compactedTables) : "—"
                text += "| write-ahead log, manifest, info log (the rest of the folder) | — | — | \(perTransaction(folder - tables)) | \(rest) |\n"
            }
            if !result.storageCompacted.isEmpty {
                // The state's families grow with the accounts, the others with the chain: a
                // longer run divides the first by more transactions, never the second.
                let stateFamilies: Set<String> = ["state", "state_tree"]
                let chainBytes = result.storageCompacted.filter { !stateFamilies.contains($0.family) }.reduce(UInt64(0)) { $0 + $1.tableFileBytes }
                let stateBytes = result.storageCompacted.filter { stateFamilies.contains($0.family) }.reduce(UInt64(0)) { $0 + $1.tableFileBytes }
                text += "| **compacted: growing with the chain** (all but state, state_tree) | — | — | — | \(perTransaction(chainBytes)) |\n"
                text += "| **compacted: the state and its tree** (\(mebibytes(stateBytes)) MiB, grows with the accounts) | — | — | — | \(perTransaction(stateBytes)) |\n"
                text += "| **compacted: the whole data folder** | — | — | — | \(perTransaction(result.bytesOnDiskCompacted)) |\n"
            }
        }
        return text
    }
}
