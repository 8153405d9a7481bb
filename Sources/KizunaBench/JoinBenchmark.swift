import KizunaCore
import NIOCore
import Foundation
import KizunaNetwork

/// `kizuna bench join`: how long a new node takes to join a long chain by block sync from
/// genesis and from a state snapshot (issue 20's measure; `docs/snapshots.md`, ADR 0017).
///
/// A run copies a chain folder written by `kizuna bench console` (never the original), starts
/// a node on the copy (an observer that only serves: it runs the start check of the whole
/// chain first), asks it for a snapshot of its tip, then starts two new nodes, one after the
/// other, on fresh data folders with that node as their only peer: one syncs every block from
/// genesis (executing each), one starts from the snapshot. Each is timed from its process start
/// until its tip is the server's; both must end on the server's tip hash and state root. The
/// machine's Ed25519 verifications per second are measured in the same run.
public struct JoinBenchmark: Sendable {
    public struct Options: Sendable {
        /// A chain folder of `kizuna bench console` (`chain/`, `genesis.json`); copied.
        public var source: String
        /// The scratch folder (deleted and recreated).
        public var folder: String
        public var executable: String
        /// How long each wait (server start, each join) may take.
        public var timeoutSeconds: Double

        public init(source: String, folder: String, executable: String, timeoutSeconds: Double) {
            self.source = source
            self.folder = folder
            self.executable = executable
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public struct Result: Sendable, Codable {
        public var cores: Int
        public var ed25519VerifyPerSecondOneCore: Double
        public var ed25519VerifyPerSecondAllCores: Double
        public var height: UInt64
        public var transactions: Int
        /// The serving node's start check of the whole copied chain.
        public var serverStartSeconds: Double
        public var snapshotSeconds: Double
        public var snapshotBytes: Int
        public var snapshotRecords: Int
        public var joinFromGenesisSeconds: Double
        public var joinFromSnapshotSeconds: Double
        public var sameTip: Bool
        /// /proc/loadavg's first three fields when each figure was taken.
        public var loadAverages: [String: String]
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    static let memberToken = "bench-join-member-token"

    struct Node {
        var name: String
        var folder: String
        var key: PrivateKey
        var apiPort: Int
        var peerPort: Int
    }

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let manager = FileManager.default
        let folder = options.folder.hasPrefix("/") ? options.folder : manager.currentDirectoryPath + "/" + options.folder
        if manager.fileExists(atPath: folder) { try manager.removeItem(atPath: folder) }
        try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var loads: [String: String] = [:]

        let cores = ProcessInfo.processInfo.activeProcessorCount
        progress("measuring the machine: Ed25519 verifications on \(cores) core(s)")
        let (verifyOne, verifyAll) = SingleNodeBenchmark.measureEd25519Verify(cores: cores)
        loads["ed25519"] = Self.loadAverage()
        progress(String(format: "ed25519 verify %.0f/s on one core, %.0f/s on %d cores (load %@)", verifyOne, verifyAll, cores, loads["ed25519"]!))

        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: options.source + "/chain-info.json"))) as? [String: Any] ?? [:]
        let transactions = info["transactions"] as? Int ?? 0
        try manager.copyItem(atPath: options.source + "/genesis.json", toPath: folder + "/genesis.json")
        var taken: Set<Int> = []
        func node(_ name: String) throws -> Node {
            Node(name: name, folder: folder + "/" + name, key: PrivateKey(), apiPort: try LocalPorts.freePort(avoiding: &taken),
                 peerPort: try LocalPorts.freePort(avoiding: &taken))
        }
        let server = try node("server")
        let joiners = [try node("from-genesis"), try node("from-snapshot")]
        for entry in [server] + joiners {
            try manager.createDirectory(atPath: entry.folder + "/data", withIntermediateDirectories: true)
            try BenchNetworkProcesses.writeKeyFile(entry.key, path: entry.folder + "/node.key.json")
        }
        progress("copying \(options.source)/chain (\(transactions) transactions) into \(server.folder)/data/chain")
        try manager.copyItem(atPath: options.source + "/chain", toPath: server.folder + "/data/chain")
        try Data(Self.configuration(server, peers: [], allowed: joiners.map(\.key.publicKey)).utf8).write(to: URL(fileURLWithPath: server.folder + "/node.toml"))
        for joiner in joiners {
            try Data(Self.configuration(joiner, peers: [server], allowed: [server.key.publicKey]).utf8).write(to: URL(fileURLWithPath: joiner.folder + "/node.toml"))
        }

        let group = makeBenchClientEventLoopGroup()
        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        // The server: the start check of the whole chain, then it serves.
        progress("starting the serving node (it checks the whole chain first: every block, signature and the state root)")
        var started = benchNow()
        processes.append(try Self.start(server, executable: options.executable, arguments: []))
        guard let serverTip = try await waitForStatus(server, group: group, process: processes[0], until: { _ in true }) else {
            throw BenchError("the serving node did not start within \(Int(options.timeoutSeconds)) s; see \(server.folder)/node.log")
        }
        let serverStart = seconds(since: started)
        loads["server"] = Self.loadAverage()
        progress(String(format: "serving node up at height %llu after %.1f s (load %@)", serverTip.height, serverStart, loads["server"]!))

        // The snapshot of its tip.
        started = benchNow()
        let snapshotFile = folder + "/tip.snapshot"
        let answer = try await Self.post(port: server.apiPort, path: "/v1/admin/snapshot", json: "{\"to\": \"\(snapshotFile)\"}", group: group)
        guard answer.status == 200 else {
            throw BenchError("the snapshot request failed: HTTP \(answer.status) \(String(buffer: answer.body))")
        }
        let snapshotSeconds = seconds(since: started)
        loads["snapshot"] = Self.loadAverage()
        let snapshotJSON = (try? JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView))) as? [String: Any] ?? [:]
        let snapshotBytes = snapshotJSON["bytes"] as? Int ?? 0
        let snapshotRecords = snapshotJSON["records"] as? Int ?? 0
        progress(String(format: "snapshot of height %llu written in %.1f s: %d records, %d bytes (load %@)", serverTip.height, snapshotSeconds, snapshotRecords, snapshotBytes, loads["snapshot"]!))

        // The two joins, one after the other.
        var times: [Double] = []
        var sameTip = true
        for (index, joiner) in joiners.enumerated() {
            let arguments = index == 0 ? [] : ["--from-snapshot", snapshotFile]
            progress("\(joiner.name): starting a new node\(index == 0 ? "; it syncs every block from genesis" : " from the snapshot")")
            started = benchNow()
            let process = try Self.start(joiner, executable: options.executable, arguments: arguments)
            processes.append(process)
            let reached = try await waitForStatus(joiner, group: group, process: process, until: { $0.height >= serverTip.height })
            guard let reached else {
                throw BenchError("\(joiner.name) did not reach height \(serverTip.height) within \(Int(options.timeoutSeconds)) s; see \(joiner.folder)/node.log")
            }
            let elapsed = seconds(since: started)
            times.append(elapsed)
            loads[joiner.name] = Self.loadAverage()
            let tip = try await Self.status(port: joiner.apiPort, group: group, at: serverTip.height)
            sameTip = sameTip && tip?.tipHash == serverTip.tipHash && tip?.stateRoot == serverTip.stateRoot
            progress(String(format: "%@: at height %llu after %.1f s (%@ the server's tip; load %@)", joiner.name, reached.height, elapsed,
                            tip?.tipHash == serverTip.tipHash ? "same block hash and state root as" : "NOT", loads[joiner.name]!))
            process.terminate()
            process.waitUntilExit()
        }
        try? await group.shutdownGracefully()
        return Result(cores: cores, ed25519VerifyPerSecondOneCore: verifyOne, ed25519VerifyPerSecondAllCores: verifyAll, height: serverTip.height,
                      transactions: transactions, serverStartSeconds: serverStart, snapshotSeconds: snapshotSeconds, snapshotBytes: snapshotBytes,
                      snapshotRecords: snapshotRecords, joinFromGenesisSeconds: times[0], joinFromSnapshotSeconds: times[1], sameTip: sameTip, loadAverages: loads)
    }

    // MARK: - Nodes

    /// An observer's configuration: no vote, `peers` to dial, `allowed` keys it accepts.
    static func configuration(_ node: Node, peers: [Node], allowed: [PublicKey]) -> String {
        var text = BenchNetworkProcesses.nodeTOMLHead(writtenBy: "join", logLevel: "notice", apiPort: node.apiPort) + """

        [console]
        enabled = false

        [network]
        listen = "127.0.0.1:\(node.peerPort)"
        observerKeys = [\(allowed.map { "\"\($0.address)\"" }.joined(separator: ", "))]

        """
        for peer in peers {
            text += BenchNetworkProcesses.peerTOML(name: peer.name, peerPort: peer.peerPort, key: peer.key.publicKey)
        }
        return text + BenchNetworkProcesses.memberCredentialTOML(token: memberToken)
    }

    static func start(_ node: Node, executable: String, arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["node", "--config", node.folder + "/node.toml"] + arguments
        let log = node.folder + "/node.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    struct Status {
        var height: UInt64
        var tipHash: String
        var stateRoot: String
    }

    /// Polls the node's status every 100 ms until `condition` holds; nil when the process
    /// exited or the timeout passed.
    func waitForStatus(_ node: Node, group: any EventLoopGroup, process: Process, until condition: (Status) -> Bool) async throws -> Status? {
        let deadline = benchNow() + UInt64(options.timeoutSeconds * 1e9)
        while benchNow() < deadline {
            guard process.isRunning else { return nil }
            if let status = try? await Self.status(port: node.apiPort, group: group), condition(status) { return status }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return nil
    }

    /// `GET /v1/status` (or the header at `height`): height, tip hash, state root.
    static func status(port: Int, group: any EventLoopGroup, at height: UInt64? = nil) async throws -> Status? {
        let connection = try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port, group: group)
        defer { connection.close() }
        let path = height.map { "/v1/headers/\($0)" } ?? "/v1/status"
        let response = try await connection.request(BenchHTTPConnection.getRequest(path))
        guard response.status == 200,
              let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] else { return nil }
        let stateRoot = json["stateRoot"] as? String ?? ""
        if height != nil {
            guard let hash = json["hash"] as? String, let height else { return nil }
            return Status(height: height, tipHash: hash, stateRoot: stateRoot)
        }
        guard let at = json["height"] as? Int, let tip = json["tipHash"] as? String else { return nil }
        return Status(height: UInt64(at), tipHash: tip, stateRoot: stateRoot)
    }

    static func post(port: Int, path: String, json: String, group: any EventLoopGroup) async throws -> BenchHTTPConnection.Response {
        let connection = try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port, group: group)
        defer { connection.close() }
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(memberToken)\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n"
        return try await connection.request(ByteBuffer(string: head + json), timeoutSeconds: 3600)
    }

    /// The first three fields of /proc/loadavg (1, 5 and 15 minutes).
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    func seconds(since start: UInt64) -> Double { Double(benchNow() - start) / 1e9 }
}
