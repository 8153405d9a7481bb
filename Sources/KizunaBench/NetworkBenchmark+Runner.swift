import KizunaCore
import NIOCore
import KizunaNetwork
import KizunaRocksDB
import Foundation
import FoundationNetworking
import Synchronization
import Dispatch

/// One run of `NetworkBenchmark`: owns the child processes, the connections and the workload.
/// Used from one task; what other tasks touch (load, monitor, processes) is `Sendable`.
final class BenchRunner {
    enum Phase {
        static let setup = 0
        static let funding = 1
        static let max = 2
        static let steady = 3
        static let spike = 4
        static let recovery = 5
    }

    enum Dispatch: Sendable {
        /// Offer at a fixed rate per second.
        case rate(Double)
        /// Keep at most this many offered and not yet committed.
        case outstanding(Int)
        /// Offer everything at once (the signers' windows pace it).
        case all
    }

    /// CPU seconds of every process at one instant.
    struct UsageSnapshot {
        var at: UInt64
        var cpu: [String: Double]
    }

    let options: NetworkBenchmark.Options
    let progress: @Sendable (String) -> Void
    let group: any EventLoopGroup
    var network: BenchNetworkProcesses?
    var workload: BenchWorkload?
    var load: BenchLoad?
    let monitor = BenchMonitor()
    var workers: Task<Void, Never>?
    var monitorTask: Task<Void, Never>?
    var eventTask: Task<Void, Never>?
    let stopping = BenchFlag()
    var signalSources: [any DispatchSourceSignal] = []
    var errors: [String] = []

    static let host = "127.0.0.1"
    static let names = BenchNetworkProcesses.validatorNames

    init(options: NetworkBenchmark.Options, progress: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.progress = progress
        group = makeBenchClientEventLoopGroup()
    }

    func run() async throws -> NetworkBenchmark.Result {
        do {
            let result = try await measure()
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }

    // MARK: - The run

    func measure() async throws -> NetworkBenchmark.Result {
        let started = benchNow()
        let manager = FileManager.default
        if manager.fileExists(atPath: options.folder) { try manager.removeItem(atPath: options.folder) }
        try manager.createDirectory(atPath: options.folder, withIntermediateDirectories: true)

        // 1. The machine's limits, before any node runs.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        progress("measuring the machine: Ed25519 verifications on \(cores) core(s), synced RocksDB batches")
        let (verifyOne, verifyAll) = SingleNodeBenchmark.measureEd25519Verify(cores: cores, perCore: options.verifyPerCore)
        let synced = try SingleNodeBenchmark.measureSyncedBatches(path: options.folder + "/sync-probe", writes: options.syncedWrites)
        try? manager.removeItem(atPath: options.folder + "/sync-probe")
        let machine = NetworkBenchmark.Machine(cores: cores, ed25519VerifyPerSecondOneCore: verifyOne, ed25519VerifyPerSecondAllCores: verifyAll,
                                               signatureBoundTransactionsPerSecond: verifyAll / Double(Self.names.count), syncedBatchesPerSecond: synced)
        progress(String(format: "ed25519 verify %.0f/s on one core, %.0f/s on %d cores → signature bound %.0f tx/s for 4 validators; synced RocksDB batches %.0f/s",
                        verifyOne, verifyAll, cores, machine.signatureBoundTransactionsPerSecond, synced))

        // 2. The network.
        let network = try BenchNetworkProcesses(folder: options.folder + "/network", executable: options.executable, mempoolTransactionsMax: options.mempoolTransactionsMax,
                                                admissionQueueMilliseconds: options.admissionQueueMilliseconds,
                                                plainPeerLinks: options.plainPeerLinks)
        self.network = network
        installSignalHandlers(network)
        for name in Self.names { _ = try network.start(name) }
        progress("started 4 validators (\(Self.names.map { "\($0) pid \(network.pid($0)!) api :\(network.nodes[$0]!.apiPort)" }.joined(separator: ", "))); logs in \(network.folder)/<name>/node.log")
        try await waitForAPIs(Self.names, seconds: 120)
        var indexerPostgres: BenchPostgres?
        if let url = options.indexerPostgresURL { indexerPostgres = try await startIndexer(url: url, network: network) }

        let workload = BenchWorkload(genesis: network.genesis, residents: options.residents, merchants: options.merchants, nodeCount: Self.names.count, seed: options.seed)
        self.workload = workload
        let load = BenchLoad(nodeCount: Self.names.count, windows: workload.signers.map(\.window), gateOnCommit: workload.signers.map { $0.role == .authority })
        self.load = load
        startEventStream(load: load, network: network)
        startWorkers(load: load, network: network)
        startMonitor(load: load, network: network)

        // 3. Set-up: programs and registrations, then the first charge and thanks.
        let setupStart = benchNow()
        progress("set-up: 3 programs, \(options.merchants) merchants and \(options.residents) residents to register")
        let setupRange = try await settle(phase: Phase.setup, name: "set-up", jobs: workload.sign(workload.createPrograms() + workload.registrations()))
        progress("set-up: charging ¥\(BenchWorkload.initialChargeYen) and granting \(BenchWorkload.initialThanks) thanks to every resident")
        let fundingRange = try await settle(phase: Phase.funding, name: "funding", jobs: workload.sign(workload.funding()))
        let setupSeconds = Double(benchNow() - setupStart) / 1e9
        let setupTransactions = setupRange.count + fundingRange.count
        progress(String(format: "set-up: %d transactions committed in %.1f s (%.0f tx/s; authorities keep ≤ %d pending each)",
                        setupTransactions, setupSeconds, Double(setupTransactions) / setupSeconds, BenchWorkload.authorityWindow))
        try await refresh()

        var result = NetworkBenchmark.Result(
            date: ISO8601DateFormatter().string(from: Date()), build: benchBuildConfiguration, chainId: network.genesis.chainId,
            residents: options.residents, merchants: options.merchants, connectionsPerNode: options.connectionsPerNode,
            mempoolTransactionsMax: options.mempoolTransactionsMax, drainSeconds: options.drainSeconds, machine: machine,
            setupTransactions: setupTransactions, setupSeconds: setupSeconds, max: nil, steady: nil, spike: nil, sync: nil,
            ratioToSignatureBound: nil, ratioBlocksToSyncedBatches: nil, chainHeight: 0, chainTransactions: 0,
            bytesOnDiskPerNode: [:], bytesOnDiskPerTransaction: 0, nodesPeakRSSBytes: [:], clientCPUSeconds: 0, seconds: 0, errors: [])
        let allResidents = 0..<options.residents

        // 4. Max: as fast as the network commits, with a bounded number outstanding.
        var maxRate = options.assumedMax
        let wantsMax = options.scenarios.contains(.max) || (maxRate == nil && (options.scenarios.contains(.steady) || options.scenarios.contains(.spike)) && options.steadyRate == nil)
        // A scenario that fails is reported and the run goes on; once the accounts cannot be
        // read back (the workload's nonces would be unknown), only the sync scenario is left.
        var canLoad = true
        func refreshOrStop() async {
            do {
                try await refresh()
            } catch {
                errors.append("reading the accounts back failed (\(error)); the remaining load scenarios are skipped")
                progress("reading the accounts back failed: \(error); skipping the remaining load scenarios")
                canLoad = false
            }
        }
        if wantsMax {
            let count = max(options.maxOutstanding * 2, Int(Double(options.maxJobsPerSecond) * options.maxSeconds))
            let jobs = workload.sign(workload.mix(count: count, residentPool: allResidents))
            progress("max: \(jobs.count) pre-signed transactions, at most \(options.maxOutstanding) outstanding, \(Int(options.maxSeconds)) s")
            let phase: NetworkBenchmark.PhaseResult
            if let indexerPostgres {
                let measured = try await runMaxWithIndexer(postgres: indexerPostgres) {
                    try await runPhase(Phase.max, name: "max", jobs: jobs, dispatch: .outstanding(options.maxOutstanding), seconds: options.maxSeconds)
                }
                phase = measured.0
                result.indexer = measured.1
            } else {
                phase = try await runPhase(Phase.max, name: "max", jobs: jobs, dispatch: .outstanding(options.maxOutstanding), seconds: options.maxSeconds)
            }
            result.max = phase
            maxRate = phase.finalizedPerSecond
            result.ratioToSignatureBound = phase.finalizedPerSecond / machine.signatureBoundTransactionsPerSecond
            let blocksPerSecond = phase.measuredSeconds > 0 ? Double(phase.blocksInWindow) / phase.measuredSeconds : 0
            result.ratioBlocksToSyncedBatches = blocksPerSecond / synced
            progress(String(format: "max: %.0f finalized tx/s (%.2f of the signature bound), p50 %.0f ms, p99 %.0f ms",
                            phase.finalizedPerSecond, result.ratioToSignatureBound!, phase.latencyMilliseconds.p50, phase.latencyMilliseconds.p99))
            await refreshOrStop()
        }
        let baseRate = max(1, maxRate ?? 1)

        // 5. Steady: half the max, for latency.
        if options.scenarios.contains(.steady) && canLoad {
            let rate = options.steadyRate ?? baseRate / 2
            let jobs = workload.sign(workload.mix(count: Int(rate * options.steadySeconds) + 1, residentPool: allResidents))
            progress(String(format: "steady: %d transactions offered at %.0f/s for %.0f s", jobs.count, rate, options.steadySeconds))
            let phase = try await runPhase(Phase.steady, name: "steady", jobs: jobs, dispatch: .rate(rate), seconds: options.steadySeconds)
            result.steady = phase
            progress(String(format: "steady: %.0f finalized tx/s, submit-to-commit p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms",
                            phase.finalizedPerSecond, phase.latencyMilliseconds.p50, phase.latencyMilliseconds.p95, phase.latencyMilliseconds.p99, phase.latencyMilliseconds.max))
            await refreshOrStop()
        }

        // 6. Sync: a fresh observer syncs the chain the scenarios above built. It runs before
        // the spike because a spike can leave the validators unable to commit for minutes
        // (docs/benchmarks.md), and a sync from stalled validators would measure the stall.
        if options.scenarios.contains(.sync) {
            result.sync = try await runSync()
        }

        // 7. Spike: payments at 10× the max for a bounded time, the normal mix at half the max
        // meanwhile and after (by other residents, so a payer who gives up breaks no chain).
        // Last: nothing after it needs the accounts read back.
        if options.scenarios.contains(.spike) && canLoad {
            result.spike = try await runSpike(baseRate: baseRate)
        }

        if options.holdSeconds > 0 {
            progress("holding the nodes for \(Int(options.holdSeconds)) s: \(Self.names.map { "\($0) pid \(network.pid($0) ?? 0) api 127.0.0.1:\(network.nodes[$0]!.apiPort)" }.joined(separator: ", "))")
            try? await Task.sleep(nanoseconds: UInt64(options.holdSeconds * 1e9))
        }

        // 8. Totals.
        result.chainHeight = load.tipHeight
        result.chainTransactions = load.committedTotal
        for name in Self.names {
            if let pid = network.pid(name) { result.nodesPeakRSSBytes[name] = BenchProcessStats.peakRSSBytes(pid) }
            if let port = network.nodes[name]?.apiPort, let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
               let (data, _) = try? await URLSession.shared.data(from: url),
               let checks = NetworkBenchmark.SignatureChecks(prometheus: String(decoding: data, as: UTF8.self)) {
                result.signatureChecks[name] = checks
            }
        }
        for name in Self.names where !network.isAlive(name) { errors.append("validator \(name) is not running at the end; see \(network.logPath(name))") }
        // Bytes on disk once the nodes have stopped (and RocksDB has flushed its memtables).
        load.stop()
        network.stopAll()
        for name in Self.names { result.bytesOnDiskPerNode[name] = BenchNetworkProcesses.diskUsage(network.dataPath(name)) }
        if result.sync != nil { result.bytesOnDiskPerNode[BenchNetworkProcesses.observerName] = BenchNetworkProcesses.diskUsage(network.dataPath(BenchNetworkProcesses.observerName)) }
        let validatorBytes = Self.names.compactMap { result.bytesOnDiskPerNode[$0] }
        result.bytesOnDiskPerTransaction = result.chainTransactions > 0 ? Double(validatorBytes.reduce(0, +)) / Double(validatorBytes.count) / Double(result.chainTransactions) : 0
        // Where those bytes are (issue 16): one validator's store, read-only, after it stopped.
        if let name = Self.names.first, let store = try? RocksDBStore(path: network.dataPath(name) + "/chain", readOnly: true) {
            result.storageByFamily = (try? store.familyUsage()) ?? []
            result.storageNode = name
            store.close()
            // And what a long-lived node converges to: the same store fully compacted
            // (overwritten tree nodes and deleted entries dropped, every level compressed).
            if let writable = try? RocksDBStore(path: network.dataPath(name) + "/chain") {
                writable.compact()
                result.storageCompacted = (try? writable.familyUsage()) ?? []
                writable.close()
                result.bytesOnDiskCompacted = writable.diskUsageBytes()
            }
        }
        result.clientCPUSeconds = BenchProcessStats.cpuSeconds(getpid()) ?? 0
        result.seconds = Double(benchNow() - started) / 1e9
        if load.foreignCommitted > 0 { errors.append("\(load.foreignCommitted) committed transactions were not the benchmark's") }
        result.errors = errors
        return result
    }

    // MARK: - Phases

    /// Offers every job at once and waits until all committed (set-up phases); fails if any
    /// did not.
    func settle(phase: Int, name: String, jobs: [BenchJob]) async throws -> Range<Int> {
        guard let load else { throw BenchError("no load") }
        let range = load.add(jobs, phase: phase, maxAttempts: .max, retriesNonceGaps: true)
        monitor.setCurrent(phase: phase, name: name)
        let now = benchNow()
        for index in range { load.release(index, scheduledAt: now) }
        let drainSeconds = max(options.drainSeconds, 30)
        let settled = await drain([range], seconds: drainSeconds)
        monitor.clearCurrent()
        let counters = load.counters(phase: phase)
        guard settled, counters.committed == jobs.count else {
            throw BenchError("\(name): \(counters.committed) of \(jobs.count) transactions committed, then none for \(Int(drainSeconds)) s; rejections \(counters.rejections), refusals \(counters.refusals)")
        }
        return range
    }

    func runPhase(_ phase: Int, name: String, jobs: [BenchJob], dispatch: Dispatch, seconds: Double, maxAttempts: Int = .max) async throws -> NetworkBenchmark.PhaseResult {
        guard let load else { throw BenchError("no load") }
        let range = load.add(jobs, phase: phase, maxAttempts: maxAttempts)
        monitor.open(name)
        monitor.setCurrent(phase: phase, name: name)
        let before = usage()
        let submitStart = benchNow()
        await offer(range, phase: phase, dispatch: dispatch, seconds: seconds)
        let submitEnd = benchNow()
        let settled = await drain([range], seconds: options.drainSeconds)
        if !settled { load.giveUp(range) }
        let after = usage()
        monitor.clearCurrent()
        let window = monitor.close(name)
        return summarize(name: name, phase: phase, range: range, rate: Self.rate(of: dispatch), submitStart: submitStart, submitEnd: submitEnd,
                         before: before, after: after, window: window)
    }

    static func rate(of dispatch: Dispatch) -> Double? {
        if case .rate(let rate) = dispatch { return rate }
        return nil
    }

    func runSpike(baseRate: Double) async throws -> NetworkBenchmark.Spike {
        guard let load, let workload, let network else { throw BenchError("no load") }
        let spikeRate = baseRate * options.spikeFactor
        let normalRate = options.steadyRate ?? baseRate / 2
        // Payers of the spike and residents of the normal mix are disjoint.
        let split = max(1, options.residents * 7 / 10)
        let spikePool = 0..<split
        let normalPool = split..<options.residents
        let spikeJobs = workload.sign(workload.payments(count: Int(spikeRate * options.spikeSeconds) + 1, residentPool: spikePool))
        let normalDuring = workload.sign(workload.mix(count: Int(normalRate * options.spikeSeconds) + 1, residentPool: normalPool))
        let recoveryJobs = workload.sign(workload.mix(count: Int(normalRate * options.recoverySeconds) + 1, residentPool: normalPool))
        progress(String(format: "spike: %d payments offered at %.0f/s (%.0f× the max) for %.0f s, with the normal mix at %.0f/s during and %.0f s after",
                        spikeJobs.count, spikeRate, options.spikeFactor, options.spikeSeconds, normalRate, options.recoverySeconds))
        let heightsBefore = await heights()
        let spikeRange = load.add(spikeJobs, phase: Phase.spike, maxAttempts: options.spikeAttempts)
        let recoveryRange = load.add(normalDuring + recoveryJobs, phase: Phase.recovery, maxAttempts: .max)
        let duringCount = normalDuring.count
        monitor.open("spike")
        monitor.open("recovery")
        monitor.setCurrent(phase: Phase.spike, name: "spike")
        let before = usage()
        let spikeStart = benchNow()
        // A payer whose payment is still refused when the spike ends gives up a little later.
        load.setGiveUp(phase: Phase.spike, at: spikeStart + UInt64((options.spikeSeconds + min(10, options.recoverySeconds)) * 1e9))
        let spikeSeconds = options.spikeSeconds
        async let spikeOffer: Void = BenchRunner.offer(load: load, spikeRange, phase: Phase.spike, dispatch: .rate(spikeRate), seconds: spikeSeconds)
        async let normalOffer: Void = BenchRunner.offer(load: load, recoveryRange.lowerBound..<(recoveryRange.lowerBound + duringCount), phase: Phase.recovery, dispatch: .rate(normalRate), seconds: spikeSeconds)
        _ = await (spikeOffer, normalOffer)
        let spikeEnd = benchNow()
        let spikeUsage = usage()
        monitor.setCurrent(phase: Phase.recovery, name: "recovery")
        await offer((recoveryRange.lowerBound + duringCount)..<recoveryRange.upperBound, phase: Phase.recovery, dispatch: .rate(normalRate), seconds: options.recoverySeconds)
        let recoveryEnd = benchNow()
        // Back to steady state: every node up and committing.
        let heightsMiddle = await heights()
        try? await Task.sleep(nanoseconds: 3_000_000_000)
        let heightsAfter = await heights()
        let nodesUp = Self.names.allSatisfy { network.isAlive($0) }
        let advancing = Self.names.allSatisfy { (heightsAfter[$0] ?? 0) > (heightsMiddle[$0] ?? 0) }
        let settled = await drain([spikeRange, recoveryRange], seconds: options.drainSeconds)
        let settledSeconds = Double(benchNow() - spikeEnd) / 1e9
        if !settled {
            load.giveUp(spikeRange)
            load.giveUp(recoveryRange)
        }
        let after = usage()
        monitor.clearCurrent()
        let spikeWindow = monitor.close("spike")
        let recoveryWindow = monitor.close("recovery")
        let spike = summarize(name: "spike payments", phase: Phase.spike, range: spikeRange, rate: spikeRate, submitStart: spikeStart, submitEnd: spikeEnd,
                              before: before, after: spikeUsage, window: spikeWindow)
        let recovery = summarize(name: "normal mix during and after the spike", phase: Phase.recovery, range: recoveryRange, rate: normalRate, submitStart: spikeStart, submitEnd: recoveryEnd,
                                 before: before, after: after, window: recoveryWindow)
        progress(String(format: "spike: %d payments offered, %d admitted, %d committed; %d refusals (%d with Retry-After, answered p99 %.1f ms), %d given up; admitted payments' p50 %.0f ms p99 %.0f ms; normal mix p99 %.0f ms; nodes up: %@, heights advancing: %@",
                        spike.offered, spike.accepted, spike.committed, spike.refusalsTotal, spike.refusalsWithRetryAfter, spike.refusalAnswerMilliseconds?.p99 ?? 0, spike.abandoned + spike.dropped,
                        spike.latencyMilliseconds.p50, spike.latencyMilliseconds.p99, recovery.latencyMilliseconds.p99, nodesUp ? "yes" : "NO", advancing ? "yes" : "NO"))
        return NetworkBenchmark.Spike(offeredRatePerSecond: spikeRate, seconds: options.spikeSeconds, payments: spike, recovery: recovery,
                                      nodesUp: nodesUp, heightsBefore: heightsBefore, heightsAfter: heightsAfter, heightsAdvancing: advancing,
                                      settled: settled, settledSecondsAfterSpike: settledSeconds)
    }

    func runSync() async throws -> NetworkBenchmark.Sync {
        guard let load, let network else { throw BenchError("no load") }
        let observer = BenchNetworkProcesses.observerName
        let target = await heights().values.max() ?? 0
        // The event stream may be a poll behind the tip.
        for _ in 0..<100 where load.tipHeight < target { try? await Task.sleep(nanoseconds: 50_000_000) }
        let transactions = load.blocks().filter { $0.height <= target }.reduce(0) { $0 + $1.transactions }
        progress("sync: starting a fresh observer (the auditor's key) to sync \(target) blocks holding \(transactions) transactions")
        let start = benchNow()
        let pid = try network.start(observer)
        let port = network.nodes[observer]!.apiPort
        var up: UInt64?
        var height: UInt64 = 0
        var lastLog = start
        let deadline = start + UInt64(options.syncTimeoutSeconds * 1e9)
        while benchNow() < deadline && BenchProcessStats.isAlive(pid) {
            if let status = await status(port: port) {
                if up == nil { up = benchNow() }
                height = status.height
                if height >= target { break }
            }
            if benchNow() - lastLog > 2_000_000_000 {
                lastLog = benchNow()
                progress("sync: observer at height \(height) of \(target)")
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let end = benchNow()
        let reached = height >= target
        if !reached { errors.append("the observer reached height \(height) of \(target) within \(Int(options.syncTimeoutSeconds)) s; see \(network.logPath(observer))") }
        let seconds = Double(end - start) / 1e9
        let afterStart = Double(end - (up ?? start)) / 1e9
        let observerHash = await headerHash(port: port, height: target)
        let validatorHash = await headerHash(port: network.nodes[Self.names[0]]!.apiPort, height: target)
        let same = observerHash != nil && observerHash == validatorHash
        let result = NetworkBenchmark.Sync(targetHeight: target, transactions: transactions, seconds: seconds, secondsAfterStart: afterStart,
                                           blocksPerSecond: Double(target) / max(seconds, 1e-9), transactionsPerSecond: Double(transactions) / max(seconds, 1e-9),
                                           sameBlockHash: same, observerPeakRSSBytes: BenchProcessStats.peakRSSBytes(pid) ?? 0, reached: reached)
        // The observer is not part of the network under load.
        network.stop(observer)
        progress(String(format: "sync: %llu blocks (%d transactions) in %.2f s: %.0f blocks/s, %.0f tx/s; same block hash at the target: %@",
                        target, transactions, seconds, result.blocksPerSecond, result.transactionsPerSecond, same ? "yes" : "NO"))
        return result
    }

    /// Offers `range` in order: at a rate, keeping a bound outstanding, or all at once, until
    /// `seconds` pass or the jobs run out.
    func offer(_ range: Range<Int>, phase: Int, dispatch: Dispatch, seconds: Double) async {
        guard let load else { return }
        await Self.offer(load: load, range, phase: phase, dispatch: dispatch, seconds: seconds)
    }

    static func offer(load: BenchLoad, _ range: Range<Int>, phase: Int, dispatch: Dispatch, seconds: Double) async {
        guard !range.isEmpty else { return }
        let start = benchNow()
        let end = start + UInt64(seconds * 1e9)
        var next = range.lowerBound
        switch dispatch {
        case .all:
            for index in range { load.release(index, scheduledAt: start) }
        case .rate(let rate):
            let interval = 1e9 / max(rate, 1e-3)
            while next < range.upperBound {
                let due = start + UInt64(Double(next - range.lowerBound) * interval)
                if due >= end { break }
                let now = benchNow()
                if due > now {
                    try? await Task.sleep(nanoseconds: max(1_000_000, due - now))
                    continue
                }
                load.release(next, scheduledAt: due)
                next += 1
                // Behind schedule, release in bursts but let the connection workers run.
                if next % 256 == 0 { await Task.yield() }
            }
        case .outstanding(let limit):
            while next < range.upperBound && benchNow() < end {
                let room = limit - load.outstanding(phase: phase)
                if room <= 0 {
                    try? await Task.sleep(nanoseconds: 2_000_000)
                    continue
                }
                let now = benchNow()
                for _ in 0..<min(room, range.upperBound - next) {
                    load.release(next, scheduledAt: now)
                    next += 1
                }
                await Task.yield()
            }
        }
        if case .all = dispatch { return }
        // Wait out the phase even if the jobs ran out early.
        let now = benchNow()
        if now < end && next >= range.upperBound, case .rate = dispatch {
            try? await Task.sleep(nanoseconds: end - now)
        }
    }

    /// Waits until every job of `ranges` committed or was given up; false if `seconds` pass
    /// without any of them settling (a slow machine only makes it wait longer).
    func drain(_ ranges: [Range<Int>], seconds: Double) async -> Bool {
        guard let load else { return false }
        var deadline = benchNow() + UInt64(seconds * 1e9)
        var lastLeft = Int.max
        while true {
            let left = ranges.reduce(0) { $0 + load.unsettled($1) }
            if left == 0 { return true }
            if left < lastLeft {
                lastLeft = left
                deadline = benchNow() + UInt64(seconds * 1e9)
            }
            if benchNow() >= deadline {
                errors.append("\(left) transactions neither committed nor given up, with no progress for \(Int(seconds)) s")
                progress("drain: \(left) transactions still unsettled, no progress for \(Int(seconds)) s")
                return false
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }
}
