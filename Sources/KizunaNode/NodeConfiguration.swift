public import Foundation
public import KizunaCore
import KizunaRocksDB

/// A node's configuration file (TOML if its name ends in `.toml`, else JSON). Relative paths are resolved against the folder of
/// the configuration file, so a network folder can be moved as a whole.
/// Documented field by field in `docs/operations.md`.
public struct NodeConfiguration: Codable, Sendable, Equatable {
    /// Where the API listens, and its limits (documented in `docs/api.md`).
    public struct API: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        /// Sustained requests per second one client (remote address) may make.
        public var requestsPerSecondPerClient: Int
        /// How many requests a client may make at once above the sustained rate.
        public var requestBurstPerClient: Int
        /// Clients the rate limiter remembers; past it the idlest are forgotten.
        public var rateLimitedClientsMax: Int
        /// Whether requests from the loopback interface (127.0.0.1, ::1) are rate-limited too.
        /// Off by default: on loopback the caller is a local tool or a reverse proxy, which
        /// sees the real client addresses and must limit them itself.
        public var rateLimitLoopback: Bool
        /// The largest `limit` of a paginated answer.
        public var pageSizeMax: Int
        /// Open `/v1/events` streams at once; past it new streams get 503.
        public var eventSubscribersMax: Int
        /// Historical queries (`?height=` below the tip, aggregates) running at once.
        public var historicalQueriesMax: Int
        /// How many blocks an account history request scans at most.
        public var historyBlocksScannedMax: Int
        /// The settlement file's cut-off, `HH:MM` Japan time: a redemption at or after it is
        /// in the next day's file (docs/settlement-file.md). Not consensus state: every node
        /// and `kizuna report settlement-file --cutoff` must be given the same.
        public var settlementCutoff: String = "15:00"
        /// HTTPS: the PEM certificate chain (the server's certificate first) and its PEM private
        /// key. Both or neither; without them the API speaks plain HTTP (behind a TLS proxy, or
        /// on 127.0.0.1). Relative paths are relative to the configuration file's folder.
        public var tlsCertificateFile: String?
        public var tlsKeyFile: String?

        /// Whether the API is served over HTTPS.
        public var usesTLS: Bool { tlsCertificateFile != nil }

        public init(host: String, port: Int, requestsPerSecondPerClient: Int = 200, requestBurstPerClient: Int = 400, rateLimitedClientsMax: Int = 10_000, rateLimitLoopback: Bool = false, pageSizeMax: Int = 100, eventSubscribersMax: Int = 256, historicalQueriesMax: Int = 1, historyBlocksScannedMax: Int = 10_000) {
            self.host = host
            self.port = port
            self.requestsPerSecondPerClient = requestsPerSecondPerClient
            self.requestBurstPerClient = requestBurstPerClient
            self.rateLimitedClientsMax = rateLimitedClientsMax
            self.rateLimitLoopback = rateLimitLoopback
            self.pageSizeMax = pageSizeMax
            self.eventSubscribersMax = eventSubscribersMax
            self.historicalQueriesMax = historicalQueriesMax
            self.historyBlocksScannedMax = historyBlocksScannedMax
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, requestsPerSecondPerClient, requestBurstPerClient, rateLimitedClientsMax, rateLimitLoopback
            case pageSizeMax, eventSubscribersMax, historicalQueriesMax, historyBlocksScannedMax, settlementCutoff
            case tlsCertificateFile, tlsKeyFile
        }
    }

    /// Who may read what beyond the open data (design §3): consortium members and auditors,
    /// each identified by a bearer token of which only the SHA-256 is stored here.
    public struct Access: Codable, Sendable, Equatable {
        public enum Role: String, Codable, Sendable, Equatable {
            case member
            case auditor
        }

        public struct Credential: Codable, Sendable, Equatable {
            /// Who holds it (for logs): e.g. "chamber-of-commerce".
            public var name: String
            public var role: Role
            /// Lowercase hex SHA-256 of the UTF-8 token; the token itself is never stored.
            public var tokenSha256: String

            public init(name: String, role: Role, tokenSha256: String) {
                self.name = name
                self.role = role
                self.tokenSha256 = tokenSha256
            }

            enum CodingKeys: String, CodingKey, CaseIterable { case name, role, tokenSha256 }
        }

        public var credentials: [Credential]
        /// How far a signed request's timestamp may be from the node's clock.
        public var signedRequestSkewMilliseconds: UInt64
        /// Recent request signatures remembered to refuse replays.
        public var replayCacheEntriesMax: Int

        public init(credentials: [Credential] = [], signedRequestSkewMilliseconds: UInt64 = 60_000, replayCacheEntriesMax: Int = 100_000) {
            self.credentials = credentials
            self.signedRequestSkewMilliseconds = signedRequestSkewMilliseconds
            self.replayCacheEntriesMax = replayCacheEntriesMax
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case credentials, signedRequestSkewMilliseconds, replayCacheEntriesMax }
    }

    /// The peer-to-peer network (design §3). Absent: the node runs alone (`Node.Mode.single`).
    public struct Network: Codable, Sendable, Equatable {
        /// A peer: its name (for logs), `host:port`, and the key it must prove it holds.
        public struct Peer: Codable, Sendable, Equatable {
            public var name: String
            public var address: String
            public var publicKey: String

            public init(name: String, address: String, publicKey: String) {
                self.name = name
                self.address = address
                self.publicKey = publicKey
            }

            enum CodingKeys: String, CodingKey, CaseIterable { case name, address, publicKey }
        }

        /// Where this node listens for peers (`host:port`); absent for an observer that only dials.
        public var listen: String?
        public var peers: [Peer]
        /// Keys of observer nodes (auditors' replicas) allowed to connect; they never vote.
        public var observerKeys: [String]
        /// Bytes queued to one peer before frames to it are dropped (a slow peer cannot
        /// exhaust memory; consensus re-sends and sync re-asks).
        public var outboundQueueBytesMaxPerPeer: Int
        /// Largest peer frame accepted or sent.
        public var frameBytesMax: Int

        public init(listen: String?, peers: [Peer], observerKeys: [String] = [], outboundQueueBytesMaxPerPeer: Int = 64 * 1024 * 1024, frameBytesMax: Int = 9 * 1024 * 1024) {
            self.listen = listen
            self.peers = peers
            self.observerKeys = observerKeys
            self.outboundQueueBytesMaxPerPeer = outboundQueueBytesMaxPerPeer
            self.frameBytesMax = frameBytesMax
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case listen, peers, observerKeys, outboundQueueBytesMaxPerPeer, frameBytesMax }
    }

    /// Consensus timeouts (`docs/consensus.md` §5): round r waits base + r × delta.
    public struct Consensus: Codable, Sendable, Equatable {
        public var timeoutProposeMilliseconds: UInt64
        public var timeoutPrevoteMilliseconds: UInt64
        public var timeoutPrecommitMilliseconds: UInt64
        public var timeoutDeltaMilliseconds: UInt64
        /// How long the proposer waits for a first transaction before proposing an empty block.
        public var emptyProposalWaitMilliseconds: UInt64

        public init(timeoutProposeMilliseconds: UInt64 = 3000, timeoutPrevoteMilliseconds: UInt64 = 1000, timeoutPrecommitMilliseconds: UInt64 = 1000, timeoutDeltaMilliseconds: UInt64 = 500, emptyProposalWaitMilliseconds: UInt64 = 1000) {
            self.timeoutProposeMilliseconds = timeoutProposeMilliseconds
            self.timeoutPrevoteMilliseconds = timeoutPrevoteMilliseconds
            self.timeoutPrecommitMilliseconds = timeoutPrecommitMilliseconds
            self.timeoutDeltaMilliseconds = timeoutDeltaMilliseconds
            self.emptyProposalWaitMilliseconds = emptyProposalWaitMilliseconds
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case timeoutProposeMilliseconds, timeoutPrevoteMilliseconds, timeoutPrecommitMilliseconds, timeoutDeltaMilliseconds, emptyProposalWaitMilliseconds
        }
    }

    /// Where the node keeps its RocksDB database.
    public var dataDirectory: String
    public var genesisFile: String
    /// This node's validator key file.
    public var validatorKeyFile: String
    public var api: API
    /// How often the producer looks for pending transactions.
    public var blockIntervalMilliseconds: UInt64
    /// A block is committed at least this often even with no transactions, so time-based
    /// rules (expiry) run.
    public var emptyBlockIntervalMilliseconds: UInt64
    public var blockTransactionsMax: Int
    public var mempoolTransactionsMax: Int
    /// Pending transactions one account may have in the mempool.
    public var mempoolTransactionsPerAccountMax: Int
    public var requestBodyBytesMax: Int
    /// How long `?wait=commit` waits before answering "pending".
    public var commitWaitMilliseconds: UInt64
    /// `?wait=commit` requests waiting at once, at most; past it a submission answers 202
    /// `pending` at once (`kizuna_commit_waiters_refused_total`).
    public var commitWaitersMax: Int
    /// trace, debug, info, notice, warning, error, critical.
    public var logLevel: String
    /// Member and auditor credentials; absent means nobody holds them.
    public var access: Access
    /// A pending transaction older than this leaves the mempool (it could not commit).
    public var mempoolTransactionTtlMilliseconds: UInt64
    /// Consensus mode: transactions a proposal left out that wait for the next commit
    /// (`Node.deferred`), at most; past it one more is rejected for good with `mempool.full`
    /// (`kizuna_deferred_dropped_total`).
    public var deferredTransactionsMax: Int
    /// The validator's signer record; absent: beside the key file (`<key>.signer-state`).
    public var signerStateFile: String?
    /// Levels of the state tree kept in memory across blocks (ADR 0013, ADR 0022, ADR 0023):
    /// the pages whose top is at depth `0 ..< n` (pages hold four levels). 20 keeps nearly
    /// every node a block touches at 100,000 keys and leaves ≈ 1 page read per touched key at
    /// a million. Memory: 24 bytes a page slot up front (1.7 MiB at 20) and ≈ 1.1 KiB a kept
    /// page (≈ 20 MiB at 100,000 keys, ≈ 80 MiB at a million residents).
    public var stateTreeCacheLevels: Int
    /// RocksDB's one block cache for every column family, in MiB (`docs/storage.md`): the
    /// state, its tree and the indexes read on every block. A million residents' state and tree
    /// are ≈ 1.6 GiB (so 100,000 residents' fit in the default, an estimate), yet 2048 did not
    /// make their execution faster (`docs/benchmarks.md`, 2026-12-05 22:15).
    public var blockCacheMiB: Int
    /// The latest ledger state values kept in memory by the store, in MiB (0: none;
    /// `docs/storage.md`): a read found there costs no RocksDB lookup. Sized to a node's state
    /// (≈ 150 bytes an entry, seven entries a resident), it serves every state read.
    public var stateValueCacheMiB: Int
    /// A clean stop compacts the `state` and `state_tree` families when their table files
    /// together are at most this many MiB (ADR 0030; 0: never): the tree pages a run
    /// overwrote leave the folder, at a cost that grows with the state (0.24 s at 10,000
    /// residents, 0.66 s at 40,000). A larger state is left to RocksDB's own compactions.
    public var stateCompactionAtCloseMiB: Int
    public var network: Network?
    /// The operator's metrics port (`[metrics] listen = "127.0.0.1:9464"`): `GET /metrics`
    /// there and not on the API port. Absent: `/metrics` stays on the API port.
    public var metrics: Metrics?

    /// Where the operator's metrics are served (docs/operations.md, "Metrics and health").
    public struct Metrics: Codable, Sendable, Equatable {
        /// `host:port`; keep it on a private interface (127.0.0.1 or the operations network).
        public var listen: String

        public init(listen: String) { self.listen = listen }

        enum CodingKeys: String, CodingKey, CaseIterable { case listen }
    }
    public var consensus: Consensus
    /// Spike admission control (`[admission]`, docs/operations.md).
    public var admission: AdmissionControl.Settings
    /// The web console (`[console]`, docs/console.md).
    public var console: Console

    public static let defaults = NodeConfiguration(
        dataDirectory: "data", genesisFile: "genesis.json", validatorKeyFile: "validator.key.json",
        api: API(host: "127.0.0.1", port: 8080),
        blockIntervalMilliseconds: 200, emptyBlockIntervalMilliseconds: 5000,
        blockTransactionsMax: 2000, mempoolTransactionsMax: 20_000, mempoolTransactionsPerAccountMax: 64,
        requestBodyBytesMax: 65_536, commitWaitMilliseconds: 30_000, logLevel: "info", access: Access()
    )

    public static let mempoolTransactionTtlMillisecondsDefault: UInt64 = 600_000
    public static let commitWaitersMaxDefault = 10_000
    /// As many as the default mempool holds: everything deferred came out of it.
    public static let deferredTransactionsMaxDefault = 20_000
    public static let stateTreeCacheLevelsDefault = 20
    /// Accepted depths: each level doubles the memory, and 22 is ≈ 1 GiB at a large state.
    public static let stateTreeCacheLevelsAllowed = 0...22
    public static let blockCacheMiBDefault = RocksDBConfiguration.default.blockCacheBytes >> 20
    /// From a cache too small to hold the index and filter blocks of a small store, to 64 GiB.
    public static let blockCacheMiBAllowed = 16...65_536
    public static let stateValueCacheMiBDefault = RocksDBConfiguration.default.stateValueCacheBytes >> 20
    public static let stateValueCacheMiBAllowed = 0...65_536
    public static let stateCompactionAtCloseMiBDefault = Int(RocksDBConfiguration.default.stateCompactionAtCloseBytesMax >> 20)
    public static let stateCompactionAtCloseMiBAllowed = 0...65_536

    public init(dataDirectory: String, genesisFile: String, validatorKeyFile: String, api: API, blockIntervalMilliseconds: UInt64, emptyBlockIntervalMilliseconds: UInt64, blockTransactionsMax: Int, mempoolTransactionsMax: Int, mempoolTransactionsPerAccountMax: Int, requestBodyBytesMax: Int, commitWaitMilliseconds: UInt64, logLevel: String, access: Access = Access()) {
        self.dataDirectory = dataDirectory
        self.genesisFile = genesisFile
        self.validatorKeyFile = validatorKeyFile
        self.api = api
        self.blockIntervalMilliseconds = blockIntervalMilliseconds
        self.emptyBlockIntervalMilliseconds = emptyBlockIntervalMilliseconds
        self.blockTransactionsMax = blockTransactionsMax
        self.mempoolTransactionsMax = mempoolTransactionsMax
        self.mempoolTransactionsPerAccountMax = mempoolTransactionsPerAccountMax
        self.requestBodyBytesMax = requestBodyBytesMax
        self.commitWaitMilliseconds = commitWaitMilliseconds
        self.commitWaitersMax = Self.commitWaitersMaxDefault
        self.logLevel = logLevel
        self.access = access
        self.mempoolTransactionTtlMilliseconds = Self.mempoolTransactionTtlMillisecondsDefault
        self.deferredTransactionsMax = Self.deferredTransactionsMaxDefault
        self.signerStateFile = nil
        self.stateTreeCacheLevels = Self.stateTreeCacheLevelsDefault
        self.blockCacheMiB = Self.blockCacheMiBDefault
        self.stateValueCacheMiB = Self.stateValueCacheMiBDefault
        self.stateCompactionAtCloseMiB = Self.stateCompactionAtCloseMiBDefault
        self.network = nil
        self.consensus = Consensus()
        self.admission = AdmissionControl.Settings()
        self.console = Console()
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataDirectory, genesisFile, validatorKeyFile, api, blockIntervalMilliseconds, emptyBlockIntervalMilliseconds
        case blockTransactionsMax, mempoolTransactionsMax, mempoolTransactionsPerAccountMax, requestBodyBytesMax
        case commitWaitMilliseconds, commitWaitersMax, logLevel, access
        case mempoolTransactionTtlMilliseconds, deferredTransactionsMax, signerStateFile, stateTreeCacheLevels, blockCacheMiB, stateValueCacheMiB, stateCompactionAtCloseMiB, network, consensus, admission, metrics
        case console
    }

    /// A refused configuration, with a stable code.
    public typealias ConfigurationError = CodedError<ConfigurationErrorCode>

    /// Loads, validates and resolves the paths of a configuration file.
    public static func load(path: String) throws(ConfigurationError) -> NodeConfiguration {
        guard var data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(.unreadable, "cannot read the configuration file \(path)")
        }
        if path.hasSuffix(".toml") {
            // TOML is read into the same tree as JSON, so both formats share every check below.
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(.invalidTOML, "\(path) is not UTF-8 text")
            }
            do {
                data = try TOMLDocument.jsonData(fromTOML: text)
            } catch {
                throw ConfigurationError(.invalidTOML, "\(path): \(error)", cause: error)
            }
        }
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        var configuration: NodeConfiguration
        do {
            let complete = try object.map { try JSONSerialization.data(withJSONObject: try Self.withDefaults($0)) } ?? data
            configuration = try JSONDecoder().decode(NodeConfiguration.self, from: complete)
        } catch let Swift.DecodingError.keyNotFound(key, _) {
            throw ConfigurationError(.missingField, "\(path): the field '\(key.stringValue)' is required")
        } catch let Swift.DecodingError.typeMismatch(_, context) {
            throw ConfigurationError(.invalidField, "\(path): '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw ConfigurationError(.invalidJSON, "\(path) is not valid JSON: \(error)", cause: error)
        }
        if let object {
            let known = Set(CodingKeys.allCases.map(\.rawValue))
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw ConfigurationError(.unknownField, "\(path): unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            // The nested sections refuse unknown fields too.
            func refuseUnknown(_ value: Any?, known: [String], at prefix: String) throws(ConfigurationError) {
                guard let nested = value as? [String: Any] else { return }
                if let unknown = nested.keys.sorted().first(where: { !known.contains($0) }) {
                    throw ConfigurationError(.unknownField, "\(path): unknown field '\(prefix).\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
                }
            }
            try refuseUnknown(object["api"], known: API.CodingKeys.allCases.map(\.rawValue), at: "api")
            try refuseUnknown(object["access"], known: Access.CodingKeys.allCases.map(\.rawValue), at: "access")
            try refuseUnknown(object["network"], known: Network.CodingKeys.allCases.map(\.rawValue), at: "network")
            try refuseUnknown(object["consensus"], known: Consensus.CodingKeys.allCases.map(\.rawValue), at: "consensus")
            try refuseUnknown(object["admission"], known: AdmissionControl.Settings.CodingKeys.allCases.map(\.rawValue), at: "admission")
            try refuseUnknown(object["console"], known: Console.CodingKeys.allCases.map(\.rawValue), at: "console")
            try refuseUnknown(object["metrics"], known: Metrics.CodingKeys.allCases.map(\.rawValue), at: "metrics")
            if let network = object["network"] as? [String: Any], let peers = network["peers"] as? [Any] {
                for (index, peer) in peers.enumerated() {
                    try refuseUnknown(peer, known: Network.Peer.CodingKeys.allCases.map(\.rawValue), at: "network.peers[\(index)]")
                }
            }
            if let access = object["access"] as? [String: Any], let credentials = access["credentials"] as? [Any] {
                for (index, credential) in credentials.enumerated() {
                    try refuseUnknown(credential, known: Access.Credential.CodingKeys.allCases.map(\.rawValue), at: "access.credentials[\(index)]")
                }
            }
        }
        try configuration.validate(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ value: String) -> String {
            value.hasPrefix("/") ? value : base.appendingPathComponent(value).standardizedFileURL.path
        }
        configuration.dataDirectory = resolve(configuration.dataDirectory)
        configuration.genesisFile = resolve(configuration.genesisFile)
        configuration.validatorKeyFile = resolve(configuration.validatorKeyFile)
        configuration.signerStateFile = configuration.signerStateFile.map(resolve)
        configuration.api.tlsCertificateFile = configuration.api.tlsCertificateFile.map(resolve)
        configuration.api.tlsKeyFile = configuration.api.tlsKeyFile.map(resolve)
        return configuration
    }

    /// `given` (a configuration file's JSON) with every field it leaves out, or sets to null,
    /// taken from `defaults`, section by section (a `network` section from the defaults of
    /// `Network`): each default is written once, in the initialisers, and every section decodes
    /// with the synthesized `Decodable`. The three paths have no default and stay required.
    static func withDefaults(_ given: [String: Any]) throws -> [String: Any] {
        func json(_ value: some Encodable) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any] ?? [:]
        }
        func overlay(_ given: [String: Any], on defaults: [String: Any]) -> [String: Any] {
            var merged = defaults
            for (key, value) in given where !(value is NSNull) {
                if let section = value as? [String: Any], let base = defaults[key] as? [String: Any] {
                    merged[key] = overlay(section, on: base)
                } else {
                    merged[key] = value
                }
            }
            return merged
        }
        var defaults = try json(NodeConfiguration.defaults)
        for path in [CodingKeys.dataDirectory, .genesisFile, .validatorKeyFile] { defaults[path.rawValue] = nil }
        var complete = overlay(given, on: defaults)
        if let network = given[CodingKeys.network.rawValue] as? [String: Any] {
            complete[CodingKeys.network.rawValue] = overlay(network, on: try json(Network(listen: nil, peers: [])))
        }
        return complete
    }

    func validate(path: String) throws(ConfigurationError) {
        func check(_ condition: Bool, _ field: String, _ rule: String) throws(ConfigurationError) {
            if !condition { throw ConfigurationError(.invalidValue, "\(path): \(field) \(rule)") }
        }
        try check((1...65_535).contains(api.port), "api.port", "must be 1–65535")
        try check(!api.host.isEmpty, "api.host", "must not be empty")
        try check((10...60_000).contains(blockIntervalMilliseconds), "blockIntervalMilliseconds", "must be 10–60000")
        try check((100...3_600_000).contains(emptyBlockIntervalMilliseconds), "emptyBlockIntervalMilliseconds", "must be 100–3600000")
        try check((1...10_000).contains(blockTransactionsMax), "blockTransactionsMax", "must be 1–10000")
        try check((1...1_000_000).contains(mempoolTransactionsMax), "mempoolTransactionsMax", "must be 1–1000000")
        try check((1...10_000).contains(mempoolTransactionsPerAccountMax), "mempoolTransactionsPerAccountMax", "must be 1–10000")
        try check((1024...16_777_216).contains(requestBodyBytesMax), "requestBodyBytesMax", "must be 1024–16777216")
        try check(commitWaitMilliseconds <= 600_000, "commitWaitMilliseconds", "must be at most 600000")
        try check((0...1_000_000).contains(commitWaitersMax), "commitWaitersMax", "must be 0–1000000")
        try check((1...1_000_000).contains(api.requestsPerSecondPerClient), "api.requestsPerSecondPerClient", "must be 1–1000000")
        try check((1...1_000_000).contains(api.requestBurstPerClient), "api.requestBurstPerClient", "must be 1–1000000")
        try check((1...10_000_000).contains(api.rateLimitedClientsMax), "api.rateLimitedClientsMax", "must be 1–10000000")
        try check((1...1000).contains(api.pageSizeMax), "api.pageSizeMax", "must be 1–1000")
        try check(SettlementCutoff(text: api.settlementCutoff) != nil, "api.settlementCutoff", "must be HH:MM, 00:00–23:59 (Japan time)")
        try check((api.tlsCertificateFile == nil) == (api.tlsKeyFile == nil), "api.tlsCertificateFile and api.tlsKeyFile",
                  "must be given together (HTTPS needs both the certificate chain and its private key) or both left out (plain HTTP)")
        try check(api.tlsCertificateFile?.isEmpty != true && api.tlsKeyFile?.isEmpty != true, "api.tlsCertificateFile and api.tlsKeyFile", "must not be empty")
        try check((0...100_000).contains(api.eventSubscribersMax), "api.eventSubscribersMax", "must be 0–100000")
        try check((0...64).contains(api.historicalQueriesMax), "api.historicalQueriesMax", "must be 0–64")
        try check((1...10_000_000).contains(api.historyBlocksScannedMax), "api.historyBlocksScannedMax", "must be 1–10000000")
        try check((1...10_080).contains(console.sessionMinutes), "console.sessionMinutes", "must be 1–10080 (a week)")
        try check((1...1_000_000).contains(console.sessionsMax), "console.sessionsMax", "must be 1–1000000")
        try check((1000...600_000).contains(access.signedRequestSkewMilliseconds), "access.signedRequestSkewMilliseconds", "must be 1000–600000")
        try check((1...10_000_000).contains(access.replayCacheEntriesMax), "access.replayCacheEntriesMax", "must be 1–10000000")
        for (index, credential) in access.credentials.enumerated() {
            try check(!credential.name.isEmpty, "access.credentials[\(index)].name", "must not be empty")
            try check(Hash(hex: credential.tokenSha256) != nil, "access.credentials[\(index)].tokenSha256", "must be 64 hex digits (the SHA-256 of the token, never the token)")
        }
        try check(Set(access.credentials.map { $0.tokenSha256.lowercased() }).count == access.credentials.count, "access.credentials", "must not repeat a token")
        try check(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel), "logLevel", "must be one of trace, debug, info, notice, warning, error, critical")
        try check((1000...86_400_000).contains(mempoolTransactionTtlMilliseconds), "mempoolTransactionTtlMilliseconds", "must be 1000–86400000")
        try check((0...1_000_000).contains(deferredTransactionsMax), "deferredTransactionsMax", "must be 0–1000000")
        try check(Self.blockCacheMiBAllowed.contains(blockCacheMiB), "blockCacheMiB", "must be 16–65536 (MiB of RocksDB's block cache)")
        try check(Self.stateValueCacheMiBAllowed.contains(stateValueCacheMiB), "stateValueCacheMiB", "must be 0–65536 (MiB of state values kept in memory; 0 keeps none)")
        try check(Self.stateCompactionAtCloseMiBAllowed.contains(stateCompactionAtCloseMiB), "stateCompactionAtCloseMiB", "must be 0–65536 (MiB of state and state-tree files a clean stop compacts; 0 never compacts)")
        try check(Self.stateTreeCacheLevelsAllowed.contains(stateTreeCacheLevels), "stateTreeCacheLevels", "must be 0–22 (each level doubles the memory: 20 levels ≈ 260 MiB at a million keys)")
        try check((100...600_000).contains(consensus.timeoutProposeMilliseconds), "consensus.timeoutProposeMilliseconds", "must be 100–600000")
        try check((100...600_000).contains(consensus.timeoutPrevoteMilliseconds), "consensus.timeoutPrevoteMilliseconds", "must be 100–600000")
        try check((100...600_000).contains(consensus.timeoutPrecommitMilliseconds), "consensus.timeoutPrecommitMilliseconds", "must be 100–600000")
        try check(consensus.timeoutDeltaMilliseconds <= 60_000, "consensus.timeoutDeltaMilliseconds", "must be at most 60000")
        try check(consensus.emptyProposalWaitMilliseconds < consensus.timeoutProposeMilliseconds, "consensus.emptyProposalWaitMilliseconds", "must be below consensus.timeoutProposeMilliseconds (else other validators give up on the proposal)")
        try check((100...60_000).contains(admission.queueMilliseconds), "admission.queueMilliseconds", "must be 100–60000")
        try check((1...100).contains(admission.operationsLanePercent), "admission.operationsLanePercent", "must be 1–100")
        try check((1...1_000_000).contains(admission.initialTransactionsPerSecond), "admission.initialTransactionsPerSecond", "must be 1–1000000")
        try check((1...1_000_000).contains(admission.laneTransactionsMin), "admission.laneTransactionsMin", "must be 1–1000000")
        try check((1...10_000).contains(admission.accountTransactionsUnderLoadMax), "admission.accountTransactionsUnderLoadMax", "must be 1–10000")
        try check(admission.nonceGapWaitMilliseconds <= 10_000, "admission.nonceGapWaitMilliseconds", "must be at most 10000")
        if let metrics {
            try check(Self.hostAndPort(metrics.listen) != nil, "metrics.listen", "must be host:port with a port 0–65535")
        }
        if let network {
            if let listen = network.listen {
                try check(Self.hostAndPort(listen) != nil, "network.listen", "must be host:port with a port 0–65535")
            }
            try check((64 * 1024...1024 * 1024 * 1024).contains(network.outboundQueueBytesMaxPerPeer), "network.outboundQueueBytesMaxPerPeer", "must be 65536–1073741824")
            try check((9 * 1024 * 1024...64 * 1024 * 1024).contains(network.frameBytesMax), "network.frameBytesMax", "must be 9437184–67108864 (a frame must hold the largest block)")
            try check(network.outboundQueueBytesMaxPerPeer >= network.frameBytesMax, "network.outboundQueueBytesMaxPerPeer", "must be at least network.frameBytesMax (else the largest message could never be sent)")
            for (index, peer) in network.peers.enumerated() {
                try check(!peer.name.isEmpty, "network.peers[\(index)].name", "must not be empty")
                try check(Self.hostAndPort(peer.address).map { $0.port > 0 } == true, "network.peers[\(index)].address", "must be host:port with a port 1–65535")
                try check((try? Address(parsing: peer.publicKey)) != nil, "network.peers[\(index)].publicKey", "must be a kz1… key address")
            }
            for (index, key) in network.observerKeys.enumerated() {
                try check((try? Address(parsing: key)) != nil, "network.observerKeys[\(index)]", "must be a kz1… key address")
            }
        }
    }

    /// Splits `host:port` (a bracketed IPv6 host allowed).
    public static func hostAndPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        return (host, port)
    }
}

/// The codes of `NodeConfiguration.ConfigurationError`.
public enum ConfigurationErrorCode: String, ErrorCode {
    case invalidField = "config.invalid_field"
    case invalidJSON = "config.invalid_json"
    case invalidTOML = "config.invalid_toml"
    case invalidValue = "config.invalid_value"
    case missingField = "config.missing_field"
    case unknownField = "config.unknown_field"
    case unreadable = "config.unreadable"
}
