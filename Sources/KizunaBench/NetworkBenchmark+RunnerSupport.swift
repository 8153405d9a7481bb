import KizunaCore
import NIOCore
import KizunaNetwork
import Foundation
import Synchronization
import Dispatch

/// The runner's summaries, account refreshes, node status, background tasks (event stream,
/// workers, monitor) and shutdown; the scenarios are in NetworkBenchmark+Runner.swift.
extension BenchRunner {
    // MARK: - Summaries

    func usage() -> UsageSnapshot {
        var cpu: [String: Double] = [:]
        for (name, pid) in network?.runningPids ?? [:] { cpu[name] = BenchProcessStats.cpuSeconds(pid) }
        cpu["client"] = BenchProcessStats.cpuSeconds(getpid())
        return UsageSnapshot(at: benchNow(), cpu: cpu)
    }

    func summarize(name: String, phase: Int, range: Range<Int>, rate: Double?, submitStart: UInt64, submitEnd: UInt64,
                   before: UsageSnapshot, after: UsageSnapshot, window: BenchMonitor.Window) -> NetworkBenchmark.PhaseResult {
        let load = self.load!
        let records = load.records(range)
        let counters = load.counters(phase: phase)
        let warmup = UInt64(options.warmupSeconds * 1e9)
        let measureStart = submitEnd - submitStart > 2 * warmup ? submitStart + warmup : submitStart
        let measured = Double(submitEnd - measureStart) / 1e9
        var kinds: [String: Int] = [:]
        var offered = 0, accepted = 0, committed = 0, inWindow = 0, abandoned = 0, dropped = 0, acceptedNotCommitted = 0
        var latency: [Double] = [], fromOffer: [Double] = [], lag: [Double] = []
        for record in records {
            if record.outcome == .waiting { continue }
            offered += 1
            kinds[record.job.kind.rawValue, default: 0] += 1
            if record.outcome == .accepted || record.committedAt != 0 { accepted += 1 }
            if record.firstSentAt != 0 { lag.append(Double(record.firstSentAt - min(record.firstSentAt, record.scheduledAt)) / 1e6) }
            switch record.outcome {
            case .abandoned where record.committedAt == 0: abandoned += 1
            case .dropped: dropped += 1
            case .accepted where record.committedAt == 0: acceptedNotCommitted += 1
            default: break
            }
            guard record.committedAt != 0 else { continue }
            committed += 1
            if record.committedAt >= measureStart && record.committedAt <= submitEnd { inWindow += 1 }
            let sent = record.acceptedSentAt != 0 ? record.acceptedSentAt : record.firstSentAt
            if sent != 0 { latency.append(Double(record.committedAt - min(record.committedAt, sent)) / 1e6) }
            fromOffer.append(Double(record.committedAt - min(record.committedAt, record.scheduledAt)) / 1e6)
        }
        let blocks = load.blocks().filter { $0.seenAt >= measureStart && $0.seenAt <= submitEnd }
        let wall = Double(after.at - before.at) / 1e9
        func usage(_ name: String) -> NetworkBenchmark.NodeUsage {
            let seconds = max(0, (after.cpu[name] ?? 0) - (before.cpu[name] ?? 0))
            return NetworkBenchmark.NodeUsage(name: name, cpuSeconds: seconds, cores: wall > 0 ? seconds / wall : 0, peakRSSBytes: window.peakRSS[name] ?? 0)
        }
        return NetworkBenchmark.PhaseResult(
            name: name, offeredRatePerSecond: rate, submitSeconds: Double(submitEnd - submitStart) / 1e9, offered: offered,
            notOffered: records.count - offered, kinds: kinds, accepted: accepted, committed: committed,
            finalizedPerSecond: measured > 0 ? Double(inWindow) / measured : 0, measuredSeconds: measured,
            blocksInWindow: blocks.count, transactionsPerBlock: blocks.isEmpty ? 0 : Double(blocks.reduce(0) { $0 + $1.transactions }) / Double(blocks.count),
            latencyMilliseconds: .of(latency), latencyFromOfferMilliseconds: .of(fromOffer), clientLagMilliseconds: .of(lag),
            refusals: counters.refusals, refusalsTotal: counters.refusalsTotal, refusalsWithRetryAfter: counters.refusalsWithRetryAfter,
            refusalAnswerMilliseconds: .of(counters.refusalAnswerMilliseconds),
            abandoned: abandoned, dropped: dropped, rejected: counters.rejections, acceptedNotCommitted: acceptedNotCommitted,
            duplicateAnswers: counters.duplicateAnswers, transportErrors: counters.transportErrors,
            nodes: Self.names.map(usage), client: usage("client"),
            pendingAverage: window.pending.isEmpty ? 0 : Double(window.pending.reduce(0, +)) / Double(window.pending.count),
            pendingMax: window.pending.max() ?? 0)
    }

    // MARK: - Accounts between phases

    /// Reads every benchmark account from one node (every accepted transaction has
    /// committed) and resets the workload's nonces and bounds.
    func refresh() async throws {
        guard let workload, let network, let load else { return }
        let port = network.nodes[Self.names[0]]!.apiPort
        let addresses = workload.signers.enumerated().map { ($0.offset, $0.element.key.publicKey.address.description) }
        let parts = 8
        let chunk = (addresses.count + parts - 1) / parts
        let group = self.group
        let snapshots = try await withThrowingTaskGroup(of: [(Int, BenchWorkload.Snapshot)].self) { tasks in
            for part in 0..<parts {
                let slice = Array(addresses[min(addresses.count, part * chunk)..<min(addresses.count, (part + 1) * chunk)])
                if slice.isEmpty { continue }
                tasks.addTask {
                    let connection = try await BenchHTTPConnection.connect(host: Self.host, port: port, group: group)
                    defer { connection.close() }
                    var found: [(Int, BenchWorkload.Snapshot)] = []
                    for (index, address) in slice {
                        let reply = try await connection.request(BenchHTTPConnection.getRequest("/v1/accounts/\(address)", bearer: BenchNetworkProcesses.memberToken), timeoutSeconds: 10)
                        guard reply.status == 200, let snapshot = Self.snapshot(reply.body) else {
                            throw BenchError("reading account \(address) answered \(reply.status): \(String(buffer: reply.body))")
                        }
                        found.append((index, snapshot))
                    }
                    return found
                }
            }
            var all: [Int: BenchWorkload.Snapshot] = [:]
            for try await part in tasks { for (index, snapshot) in part { all[index] = snapshot } }
            return all
        }
        workload.refresh(snapshots)
        for signer in load.poisoned { workload.signers[signer].poisoned = true }
    }

    static func snapshot(_ body: ByteBuffer) -> BenchWorkload.Snapshot? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let nonce = json["nonce"] as? Int, let balances = json["balances"] as? [[String: Any]] else { return nil }
        var snapshot = BenchWorkload.Snapshot(nonce: UInt64(nonce), coin: 0, point: 0, thanks: 0)
        for balance in balances {
            let amount = Int64(balance["amount"] as? Int ?? 0)
            switch balance["asset"] as? String {
            case "coin": snapshot.coin = amount
            case "point": snapshot.point = amount
            case "thanks": snapshot.thanks = amount
            default: break
            }
        }
        return snapshot
    }

    // MARK: - Node status

    struct Status {
        var height: UInt64
        var pending: Int
    }

    func status(port: Int) async -> Status? {
        guard let connection = try? await BenchHTTPConnection.connect(host: Self.host, port: port, group: group) else { return nil }
        defer { connection.close() }
        return try? await Self.status(connection)
    }

    static func status(_ connection: BenchHTTPConnection) async throws -> Status? {
        let reply = try await connection.request(BenchHTTPConnection.getRequest("/v1/status"), timeoutSeconds: 5)
        guard reply.status == 200, let json = try? JSONSerialization.jsonObject(with: Data(reply.body.readableBytesView)) as? [String: Any],
              let height = json["height"] as? Int else { return nil }
        return Status(height: UInt64(height), pending: json["pendingTransactions"] as? Int ?? 0)
    }

    func heights() async -> [String: UInt64] {
        var heights: [String: UInt64] = [:]
        guard let network else { return heights }
        for name in Self.names {
            if let status = await status(port: network.nodes[name]!.apiPort) { heights[name] = status.height }
        }
        return heights
    }

    func headerHash(port: Int, height: UInt64) async -> String? {
        guard let connection = try? await BenchHTTPConnection.connect(host: Self.host, port: port, group: group) else { return nil }
        defer { connection.close() }
        guard let reply = try? await connection.request(BenchHTTPConnection.getRequest("/v1/headers/\(height)"), timeoutSeconds: 10), reply.status == 200,
              let json = try? JSONSerialization.jsonObject(with: Data(reply.body.readableBytesView)) as? [String: Any] else { return nil }
        return json["hash"] as? String
    }

    /// Waits until every node's API answers (their stored chains are verified first).
    func waitForAPIs(_ names: [String], seconds: Double) async throws {
        guard let network else { return }
        let deadline = benchNow() + UInt64(seconds * 1e9)
        for name in names {
            while await status(port: network.nodes[name]!.apiPort) == nil {
                guard network.isAlive(name) else {
                    throw BenchError("node \(name) exited at start: \(Self.tail(network.logPath(name)))")
                }
                guard benchNow() < deadline else { throw BenchError("node \(name) did not answer within \(Int(seconds)) s: \(Self.tail(network.logPath(name)))") }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
    }

    static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(5).joined(separator: "\n")
    }

    // MARK: - Background tasks

    /// Follows the committed blocks on one validator's event stream (from height 1), moving
    /// to the next validator if the stream ends.
    func startEventStream(load: BenchLoad, network: BenchNetworkProcesses) {
        let group = self.group
        let ports = Self.names.map { network.nodes[$0]!.apiPort }
        let stopping = self.stopping
        eventTask = Task { await BenchRunner.followEvents(load: load, ports: ports, group: group, stopping: stopping) }
    }

    private struct BlockEvent: Decodable {
        var height: UInt64
        var transactionIds: [String]
    }

    static func followEvents(load: BenchLoad, ports: [Int], group: any EventLoopGroup, stopping: BenchFlag) async {
        let (events, continuation) = AsyncStream<(String, UInt64)>.makeStream()
        let parser = Task {
            let decoder = JSONDecoder()
            for await (data, seenAt) in events {
                guard let event = try? decoder.decode(BlockEvent.self, from: Data(data.utf8)) else { continue }
                load.committed(height: event.height, ids: event.transactionIds.compactMap { Hash(hex: $0) }, seenAt: seenAt)
            }
        }
        var node = 0
        while !stopping.isSet && !Task.isCancelled {
            do {
                let stream = try await BenchEventStream.open(host: host, port: ports[node], fromHeight: load.tipHeight + 1, group: group) { data in
                    continuation.yield((data, benchNow()))
                }
                await withTaskCancellationHandler {
                    try? await stream.finished.get()
                } onCancel: {
                    stream.close()
                }
            } catch {
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
            node = (node + 1) % ports.count
        }
        continuation.finish()
        await parser.value
    }

    /// `connectionsPerNode` workers per node, each with its own keep-alive connection.
    func startWorkers(load: BenchLoad, network: BenchNetworkProcesses) {
        let group = self.group
        let ports = Self.names.map { network.nodes[$0]!.apiPort }
        let perNode = options.connectionsPerNode
        workers = Task { await BenchRunner.runWorkers(ports: ports, perNode: perNode, load: load, group: group) }
    }

    static func runWorkers(ports: [Int], perNode: Int, load: BenchLoad, group: any EventLoopGroup) async {
        await withTaskGroup(of: Void.self) { tasks in
            for node in ports.indices {
                for _ in 0..<perNode {
                    tasks.addTask { await worker(node: node, port: ports[node], load: load, group: group) }
                }
            }
        }
    }

    static func worker(node: Int, port: Int, load: BenchLoad, group: any EventLoopGroup) async {
        var connection: BenchHTTPConnection?
        while let index = await load.take(node: node) {
            guard let request = load.beginAttempt(index, at: benchNow()) else { continue }
            if connection.map({ !$0.isActive }) ?? true {
                connection?.close()
                connection = try? await BenchHTTPConnection.connect(host: host, port: port, group: group)
            }
            let answer: BenchLoad.Answer
            if let active = connection {
                let sentAt = benchNow()
                do {
                    let reply = try await active.request(request)
                    let code = reply.status >= 400 ? problemCode(reply.body) : nil
                    answer = load.answer(index, node: node, sentAt: sentAt, status: reply.status, code: code, retryAfterSeconds: reply.retryAfterSeconds)
                } catch {
                    active.close()
                    connection = nil
                    answer = load.transportFailure(index, node: node)
                }
            } else {
                answer = load.transportFailure(index, node: node)
            }
            if case .retry(let delay, let next) = answer {
                Task {
                    try? await Task.sleep(nanoseconds: delay)
                    load.requeue(index, node: next)
                }
            }
        }
        connection?.close()
    }

    /// The `code` of a problem document (`{"code":"mempool.full",…}`).
    static func problemCode(_ body: ByteBuffer) -> String? {
        let text = String(buffer: body)
        guard let range = text.range(of: "\"code\":\"") else { return nil }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// Every 250 ms the nodes' resident sets; every second one node's status and a progress line.
    func startMonitor(load: BenchLoad, network: BenchNetworkProcesses) {
        let monitor = self.monitor
        let group = self.group
        let port = network.nodes[Self.names[0]]!.apiPort
        let progress = self.progress
        monitorTask = Task { await BenchRunner.monitorLoop(load: load, network: network, monitor: monitor, group: group, port: port, progress: progress) }
    }

    static func monitorLoop(load: BenchLoad, network: BenchNetworkProcesses, monitor: BenchMonitor, group: any EventLoopGroup, port: Int, progress: @escaping @Sendable (String) -> Void) async {
        var connection: BenchHTTPConnection?
        var tick = 0
        var lastCommitted = load.committedTotal
        var lastAt = benchNow()
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 250_000_000)
            tick += 1
            for (name, pid) in network.runningPids {
                if let rss = BenchProcessStats.rssBytes(pid) { monitor.sample(name, rss: rss) }
            }
            if let rss = BenchProcessStats.rssBytes(getpid()) { monitor.sample("client", rss: rss) }
            guard tick % 4 == 0 else { continue }
            if connection.map({ !$0.isActive }) ?? true {
                connection = try? await BenchHTTPConnection.connect(host: host, port: port, group: group)
            }
            var status: Status?
            if let connection { status = try? await Self.status(connection) }
            if let status { monitor.sample(pending: status.pending) }
            let committed = load.committedTotal
            let now = benchNow()
            let perSecond = Double(committed - lastCommitted) / (Double(now - lastAt) / 1e9)
            lastCommitted = committed
            lastAt = now
            guard let current = monitor.current else { continue }
            let counters = load.counters(phase: current.phase)
            let rss = Self.names.compactMap { name in network.pid(name).flatMap(BenchProcessStats.rssBytes).map { "\(name) \($0 >> 20)" } }.joined(separator: ", ")
            progress(String(format: "[%@ %4.0f s] offered %d, committed %d, %.0f tx/s; refused %d; height %llu, pending %d; RSS MiB %@",
                            current.name, Double(now - current.start) / 1e9, counters.released, counters.committed, perSecond, counters.refusalsTotal,
                            load.tipHeight, status?.pending ?? -1, rss))
        }
        connection?.close()
    }

    // MARK: - Stopping

    /// SIGINT or SIGTERM stops the nodes this run started before the benchmark exits.
    func installSignalHandlers(_ network: BenchNetworkProcesses) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\nbench: interrupted; stopping the nodes it started\n".utf8))
                network.stopAll(graceSeconds: 5)
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    func shutdown() async {
        stopping.set()
        load?.stop()
        monitorTask?.cancel()
        eventTask?.cancel()
        await workers?.value
        await monitorTask?.value
        await eventTask?.value
        network?.stopAll()
        for source in signalSources { source.cancel() }
        for signalNumber in [SIGINT, SIGTERM] { signal(signalNumber, SIG_DFL) }
        try? await group.shutdownGracefully()
    }
}
