import KizunaCore
import KizunaNode
import KizunaConsensus
import KizunaNetwork
import Foundation
import Synchronization

/// The benchmark's own four-validator network (and, for the sync scenario, an observer):
/// child `kizuna node` processes in a scratch folder, on free ports of 127.0.0.1, on a
/// `local-` genesis with the published development validator keys. Only processes started
/// here are ever signalled, by their pid.
final class BenchNetworkProcesses: Sendable {
    static let validatorNames = ["city", "chamber", "operator", "bank"]
    static let observerName = "observer"
    /// The member token the benchmark reads accounts with (only its SHA-256 is in the configs).
    static let memberToken = "bench-network-member-token"

    struct NodeEntry: Sendable {
        var name: String
        var apiPort: Int
        var peerPort: Int
        var folder: String
    }

    let folder: String
    /// Each node's mempool bound, if not the default (`mempoolTransactionsMax`).
    let mempoolTransactionsMax: Int?
    /// Each node's `admission.queueMilliseconds`, if not the default.
    let admissionQueueMilliseconds: UInt64?
    let genesis: Genesis
    let executable: String
    let nodes: [String: NodeEntry]
    private let running = Mutex<[String: Int32]>([:])

    static func key(_ name: String) -> PrivateKey {
        name == observerName ? DevelopmentKeys.privateKey("auditor") : DevelopmentKeys.privateKey("validator-\(name)")
    }

    /// Whether the nodes run with plain (unencrypted) peer links.
    let plainPeerLinks: Bool

    /// Creates the folder (removing an earlier run's), genesis, keys, signer records and configs.
    /// The nodes run a copy of `executable` taken now, so that a rebuild in the meantime
    /// (a shared build folder) changes nothing for this run and profilers find its symbols.
    /// `plainPeerLinks`: the nodes run with `KIZUNA_DEV_PLAIN_PEER_LINKS=1` (peer links without
    /// encryption, the baseline `kizuna bench network --compare-links` measures against).
    init(folder relativeFolder: String, executable: String, mempoolTransactionsMax: Int? = nil, admissionQueueMilliseconds: UInt64? = nil, cardPolicy: CardPolicy? = nil,
         plainPeerLinks: Bool = false) throws {
        self.plainPeerLinks = plainPeerLinks
        self.mempoolTransactionsMax = mempoolTransactionsMax
        self.admissionQueueMilliseconds = admissionQueueMilliseconds
        let folder = relativeFolder.hasPrefix("/") ? relativeFolder : FileManager.default.currentDirectoryPath + "/" + relativeFolder
        self.folder = folder
        let manager = FileManager.default
        if manager.fileExists(atPath: folder) { try manager.removeItem(atPath: folder) }
        try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.executable = folder + "/kizuna"
        try manager.copyItem(atPath: executable, toPath: self.executable)
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: self.executable)
        // A genesis a minute in the past: block timestamps (wall clock) must be later.
        let now = wallClockMilliseconds()
        genesis = Genesis(
            chainId: "local-bench-network",
            genesisTime: now - now % 1000 - 60_000,
            validators: Self.validatorNames.map { Validator(name: $0, organisation: "Benchmark \($0)", publicKey: Self.key($0).publicKey, votingPower: 1) },
            authorities: Authorities(
                coinIssuer: DevelopmentKeys.privateKey("coin-issuer").publicKey, registrar: DevelopmentKeys.privateKey("registrar").publicKey,
                city: DevelopmentKeys.privateKey("city").publicKey, auditor: DevelopmentKeys.privateKey("auditor").publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy, cardPolicy: cardPolicy
        )
        try genesis.jsonData().write(to: URL(fileURLWithPath: folder + "/genesis.json"))
        var entries: [String: NodeEntry] = [:]
        var taken: Set<Int> = []
        for name in Self.validatorNames + [Self.observerName] {
            entries[name] = NodeEntry(name: name, apiPort: try LocalPorts.freePort(avoiding: &taken), peerPort: try LocalPorts.freePort(avoiding: &taken), folder: folder + "/" + name)
        }
        nodes = entries
        for name in Self.validatorNames + [Self.observerName] {
            let entry = entries[name]!
            try manager.createDirectory(atPath: entry.folder, withIntermediateDirectories: true)
            try Self.writeKeyFile(Self.key(name), path: entry.folder + "/node.key.json")
            if name != Self.observerName {
                try ValidatorJournal.initialize(dataDirectory: entry.folder + "/data")
            }
            try Data(configuration(name).utf8).write(to: URL(fileURLWithPath: entry.folder + "/node.toml"))
        }
    }

    /// The node configuration: the defaults of `Network/local/*.toml` (consensus timeouts,
    /// mempool and block limits), with this run's ports and a member credential. The event
    /// stream polls the tip every `blockIntervalMilliseconds` (unused otherwise in a network),
    /// so it is 20 ms: commit times are seen within 20 ms.
    func configuration(_ name: String) -> String {
        let entry = nodes[name]!
        var settings = ["blockIntervalMilliseconds = 20"]
        if let mempoolTransactionsMax { settings.append("mempoolTransactionsMax = \(mempoolTransactionsMax)") }
        var text = Self.nodeTOMLHead(writtenBy: "network", logLevel: "info", settings: settings, apiPort: entry.apiPort)
        text += "\n[network]\n"
        if name != Self.observerName {
            text += "listen = \"127.0.0.1:\(entry.peerPort)\"\n"
            text += "observerKeys = [\"\(Self.key(Self.observerName).publicKey.address)\"]\n"
        }
        for peer in Self.validatorNames where peer != name {
            text += Self.peerTOML(name: peer, peerPort: nodes[peer]!.peerPort, key: Self.key(peer).publicKey)
        }
        text += Self.memberCredentialTOML(token: Self.memberToken)
        if let admissionQueueMilliseconds { text += "\n[admission]\nqueueMilliseconds = \(admissionQueueMilliseconds)\n" }
        return text
    }

    /// The head of a benchmark node's configuration, written by `kizuna bench <command>` into
    /// a node folder laid out as this type lays them out (the store in `data`, the genesis one
    /// folder up, the key in `node.key.json`): the top-level `settings` (one a line) after the
    /// log level, then the API on 127.0.0.1:`apiPort`. Tables follow it.
    static func nodeTOMLHead(writtenBy command: String, logLevel: String, settings: [String] = [], apiPort: Int) -> String {
        var text = """
        # Written by `kizuna bench \(command)` for one run; removed by the next.
        dataDirectory = "data"
        genesisFile = "../genesis.json"
        validatorKeyFile = "node.key.json"
        logLevel = "\(logLevel)"

        """
        for line in settings { text += line + "\n" }
        return text + """

        [api]
        host = "127.0.0.1"
        port = \(apiPort)

        """
    }

    /// A `[[network.peers]]` entry of a benchmark node's configuration, on 127.0.0.1.
    static func peerTOML(name: String, peerPort: Int, key: PublicKey) -> String {
        """

        [[network.peers]]
        name = "\(name)"
        address = "127.0.0.1:\(peerPort)"
        publicKey = "\(key.address)"

        """
    }

    /// The `[[access.credentials]]` entry "bench" of a benchmark node's configuration: a member
    /// whose bearer token is `token` (only its SHA-256 is written).
    static func memberCredentialTOML(token: String) -> String {
        """

        [[access.credentials]]
        name = "bench"
        role = "member"
        tokenSha256 = "\(Hash.sha256(Array(token.utf8)).hex)"

        """
    }

    /// A key file in the format of `KizunaWallet.KeyFile` (kind, address, seed), mode 0600.
    static func writeKeyFile(_ key: PrivateKey, path: String) throws {
        let text = """
        {
          "address" : "\(key.publicKey.address)",
          "kind" : "kizuna-ed25519-key",
          "note" : "published DEVELOPMENT key, written by kizuna bench network",
          "seed" : "\(key.seed.hexString)"
        }

        """
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw BenchError("cannot write the key file \(path)")
        }
    }

    func logPath(_ name: String) -> String { nodes[name]!.folder + "/node.log" }
    func dataPath(_ name: String) -> String { nodes[name]!.folder + "/data" }

    /// Starts a node process (posix_spawn, so that only this code ever waits for it); its
    /// output goes to its log file.
    func start(_ name: String) throws -> Int32 {
        let entry = nodes[name]!
        return try spawn(name, arguments: [executable, "node", "--config", entry.folder + "/node.toml"], log: logPath(name))
    }

    /// Starts `arguments` (the executable first) as the process `name`, output to `log`;
    /// stopped with the nodes by `stop` and `stopAll`.
    func spawn(_ name: String, arguments: [String], log: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var environment = ProcessInfo.processInfo.environment
        environment[DevelopmentPlainLinks.environmentVariable] = plainPeerLinks ? "1" : nil
        var envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, &argv, &envp)
        guard result == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(result)))") }
        BenchCrashGuard.install()
        BenchCrashGuard.register(pid)
        running.withLock { $0[name] = pid }
        return pid
    }

    func pid(_ name: String) -> Int32? { running.withLock { $0[name] } }

    var runningPids: [String: Int32] { running.withLock { $0 } }

    func isAlive(_ name: String) -> Bool {
        guard let pid = pid(name) else { return false }
        return BenchProcessStats.isAlive(pid)
    }

    /// SIGTERM to every node this object started, then SIGKILL to any still running after
    /// `graceSeconds`; each reaped by its pid.
    /// Stops one node (SIGTERM, then SIGKILL after `graceSeconds`).
    func stop(_ name: String, graceSeconds: Double = 10) {
        guard let pid = pid(name) else { return }
        Self.stop(pids: [pid], graceSeconds: graceSeconds)
        running.withLock { $0[name] = nil }
    }

    /// Safe to call from several threads at once (the end of a run and a signal handler):
    /// each sends the signals and reaps what it can, and a pid leaves the table only once gone.
    func stopAll(graceSeconds: Double = 10) {
        let pids = running.withLock { Array($0.values) }
        Self.stop(pids: pids, graceSeconds: graceSeconds)
        running.withLock { table in
            for (name, pid) in table where pids.contains(pid) { table[name] = nil }
        }
    }

    static func stop(pids: [Int32], graceSeconds: Double) {
        defer { for pid in pids { BenchCrashGuard.unregister(pid) } }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(graceSeconds)
        var left = Set(pids)
        while !left.isEmpty && Date() < deadline {
            for pid in left {
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid || (reaped < 0 && errno == ECHILD) || !BenchProcessStats.isAlive(pid) { left.remove(pid) }
            }
            if !left.isEmpty { usleep(50_000) }
        }
        for pid in left {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    /// Bytes of the files under `path`.
    static func diskUsage(_ path: String) -> UInt64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: UInt64 = 0
        while let item = enumerator.nextObject() as? String {
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + item),
               attributes[.type] as? FileAttributeType == .typeRegular,
               let size = attributes[.size] as? NSNumber {
                total += size.uint64Value
            }
        }
        return total
    }
}

/// CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.
enum BenchProcessStats {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// User + system CPU seconds so far, or nil if the process is gone.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3; utime and
        // stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// A field of `/proc/<pid>/status` in kB (VmRSS, VmHWM), in bytes.
    static func statusBytes(_ pid: Int32, field: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            return digits.flatMap { UInt64($0) }.map { $0 * 1024 }
        }
        return nil
    }

    static func rssBytes(_ pid: Int32) -> UInt64? { statusBytes(pid, field: "VmRSS") }

    /// The machine's 1-minute load average (`/proc/loadavg`; every process counts), 0 when
    /// unreadable: reported beside every figure measured on a shared machine.
    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return 0 }
        return text.split(separator: " ").first.flatMap { Double($0) } ?? 0
    }
    static func peakRSSBytes(_ pid: Int32) -> UInt64? { statusBytes(pid, field: "VmHWM") }

    /// Running and not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}

/// A benchmark failure with a message for people.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// If the benchmark process itself crashes (a trap: SIGILL, SIGTRAP, SIGSEGV, SIGBUS), its
/// child nodes must not live on: a signal handler SIGKILLs the pids registered here, then
/// restores the previous handler (Swift's backtracer) and returns, so the trap fires again and
/// is reported as usual. Only async-signal-safe calls in the handler.
enum BenchCrashGuard {
    static let capacity = 16
    nonisolated(unsafe) static var pids: UnsafeMutablePointer<pid_t> = {
        let pointer = UnsafeMutablePointer<pid_t>.allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
        return pointer
    }()
    nonisolated(unsafe) static var saved: UnsafeMutablePointer<sigaction> = {
        let pointer = UnsafeMutablePointer<sigaction>.allocate(capacity: 64)
        pointer.initialize(repeating: sigaction(), count: 64)
        return pointer
    }()
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS]
    static let installed = Mutex(false)

    static func install() {
        let first = installed.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        _ = pids
        let savedActions = saved
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                let pids = BenchCrashGuard.pids
                for slot in 0..<BenchCrashGuard.capacity where pids[slot] > 0 { kill(pids[slot], SIGKILL) }
                var previous = BenchCrashGuard.saved[Int(number)]
                sigaction(number, &previous, nil)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, savedActions + Int(number))
        }
    }

    static func register(_ pid: pid_t) {
        for slot in 0..<capacity where pids[slot] == 0 {
            pids[slot] = pid
            return
        }
    }

    static func unregister(_ pid: pid_t) {
        for slot in 0..<capacity where pids[slot] == pid { pids[slot] = 0 }
    }
}
