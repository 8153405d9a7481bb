public import Foundation
import KizunaCore

/// A node's configuration file (JSON). Relative paths are resolved against the folder of
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
            case pageSizeMax, eventSubscribersMax, historicalQueriesMax, historyBlocksScannedMax
        }

        /// Every field is optional and takes its default.
        public init(from decoder: any Swift.Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = NodeConfiguration.defaults.api
            host = try container.decodeIfPresent(String.self, forKey: .host) ?? defaults.host
            port = try container.decodeIfPresent(Int.self, forKey: .port) ?? defaults.port
            requestsPerSecondPerClient = try container.decodeIfPresent(Int.self, forKey: .requestsPerSecondPerClient) ?? defaults.requestsPerSecondPerClient
            requestBurstPerClient = try container.decodeIfPresent(Int.self, forKey: .requestBurstPerClient) ?? defaults.requestBurstPerClient
            rateLimitedClientsMax = try container.decodeIfPresent(Int.self, forKey: .rateLimitedClientsMax) ?? defaults.rateLimitedClientsMax
            rateLimitLoopback = try container.decodeIfPresent(Bool.self, forKey: .rateLimitLoopback) ?? defaults.rateLimitLoopback
            pageSizeMax = try container.decodeIfPresent(Int.self, forKey: .pageSizeMax) ?? defaults.pageSizeMax
            eventSubscribersMax = try container.decodeIfPresent(Int.self, forKey: .eventSubscribersMax) ?? defaults.eventSubscribersMax
            historicalQueriesMax = try container.decodeIfPresent(Int.self, forKey: .historicalQueriesMax) ?? defaults.historicalQueriesMax
            historyBlocksScannedMax = try container.decodeIfPresent(Int.self, forKey: .historyBlocksScannedMax) ?? defaults.historyBlocksScannedMax
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

        public init(from decoder: any Swift.Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Access()
            credentials = try container.decodeIfPresent([Credential].self, forKey: .credentials) ?? defaults.credentials
            signedRequestSkewMilliseconds = try container.decodeIfPresent(UInt64.self, forKey: .signedRequestSkewMilliseconds) ?? defaults.signedRequestSkewMilliseconds
            replayCacheEntriesMax = try container.decodeIfPresent(Int.self, forKey: .replayCacheEntriesMax) ?? defaults.replayCacheEntriesMax
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
    /// trace, debug, info, notice, warning, error, critical.
    public var logLevel: String
    /// Member and auditor credentials; absent means nobody holds them.
    public var access: Access

    public static let defaults = NodeConfiguration(
        dataDirectory: "data", genesisFile: "genesis.json", validatorKeyFile: "validator.key.json",
        api: API(host: "127.0.0.1", port: 8080),
        blockIntervalMilliseconds: 200, emptyBlockIntervalMilliseconds: 5000,
        blockTransactionsMax: 2000, mempoolTransactionsMax: 20_000, mempoolTransactionsPerAccountMax: 64,
        requestBodyBytesMax: 65_536, commitWaitMilliseconds: 30_000, logLevel: "info", access: Access()
    )

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
        self.logLevel = logLevel
        self.access = access
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataDirectory, genesisFile, validatorKeyFile, api, blockIntervalMilliseconds, emptyBlockIntervalMilliseconds
        case blockTransactionsMax, mempoolTransactionsMax, mempoolTransactionsPerAccountMax, requestBodyBytesMax
        case commitWaitMilliseconds, logLevel, access
    }

    /// Every field except the three paths is optional and takes its default.
    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = NodeConfiguration.defaults
        dataDirectory = try container.decode(String.self, forKey: .dataDirectory)
        genesisFile = try container.decode(String.self, forKey: .genesisFile)
        validatorKeyFile = try container.decode(String.self, forKey: .validatorKeyFile)
        api = try container.decodeIfPresent(API.self, forKey: .api) ?? defaults.api
        blockIntervalMilliseconds = try container.decodeIfPresent(UInt64.self, forKey: .blockIntervalMilliseconds) ?? defaults.blockIntervalMilliseconds
        emptyBlockIntervalMilliseconds = try container.decodeIfPresent(UInt64.self, forKey: .emptyBlockIntervalMilliseconds) ?? defaults.emptyBlockIntervalMilliseconds
        blockTransactionsMax = try container.decodeIfPresent(Int.self, forKey: .blockTransactionsMax) ?? defaults.blockTransactionsMax
        mempoolTransactionsMax = try container.decodeIfPresent(Int.self, forKey: .mempoolTransactionsMax) ?? defaults.mempoolTransactionsMax
        mempoolTransactionsPerAccountMax = try container.decodeIfPresent(Int.self, forKey: .mempoolTransactionsPerAccountMax) ?? defaults.mempoolTransactionsPerAccountMax
        requestBodyBytesMax = try container.decodeIfPresent(Int.self, forKey: .requestBodyBytesMax) ?? defaults.requestBodyBytesMax
        commitWaitMilliseconds = try container.decodeIfPresent(UInt64.self, forKey: .commitWaitMilliseconds) ?? defaults.commitWaitMilliseconds
        logLevel = try container.decodeIfPresent(String.self, forKey: .logLevel) ?? defaults.logLevel
        access = try container.decodeIfPresent(Access.self, forKey: .access) ?? defaults.access
    }

    /// A refused configuration, with a stable code.
    public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
        public let code: String
        public let message: String
        public var description: String { "\(code): \(message)" }
    }

    /// Loads, validates and resolves the paths of a configuration file.
    public static func load(path: String) throws(ConfigurationError) -> NodeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(code: "config.unreadable", message: "cannot read the configuration file \(path)")
        }
        var configuration: NodeConfiguration
        do {
            configuration = try JSONDecoder().decode(NodeConfiguration.self, from: data)
        } catch let Swift.DecodingError.keyNotFound(key, _) {
            throw ConfigurationError(code: "config.missing_field", message: "\(path): the field '\(key.stringValue)' is required")
        } catch let Swift.DecodingError.typeMismatch(_, context) {
            throw ConfigurationError(code: "config.invalid_field", message: "\(path): '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw ConfigurationError(code: "config.invalid_json", message: "\(path) is not valid JSON: \(error)")
        }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            let known = Set(CodingKeys.allCases.map(\.rawValue))
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw ConfigurationError(code: "config.unknown_field", message: "\(path): unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            // The nested sections refuse unknown fields too.
            func refuseUnknown(_ value: Any?, known: [String], at prefix: String) throws(ConfigurationError) {
                guard let nested = value as? [String: Any] else { return }
                if let unknown = nested.keys.sorted().first(where: { !known.contains($0) }) {
                    throw ConfigurationError(code: "config.unknown_field", message: "\(path): unknown field '\(prefix).\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
                }
            }
            try refuseUnknown(object["api"], known: API.CodingKeys.allCases.map(\.rawValue), at: "api")
            try refuseUnknown(object["access"], known: Access.CodingKeys.allCases.map(\.rawValue), at: "access")
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
        return configuration
    }

    func validate(path: String) throws(ConfigurationError) {
        func check(_ condition: Bool, _ field: String, _ rule: String) throws(ConfigurationError) {
            if !condition { throw ConfigurationError(code: "config.invalid_value", message: "\(path): \(field) \(rule)") }
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
        try check((1...1_000_000).contains(api.requestsPerSecondPerClient), "api.requestsPerSecondPerClient", "must be 1–1000000")
        try check((1...1_000_000).contains(api.requestBurstPerClient), "api.requestBurstPerClient", "must be 1–1000000")
        try check((1...10_000_000).contains(api.rateLimitedClientsMax), "api.rateLimitedClientsMax", "must be 1–10000000")
        try check((1...1000).contains(api.pageSizeMax), "api.pageSizeMax", "must be 1–1000")
        try check((0...100_000).contains(api.eventSubscribersMax), "api.eventSubscribersMax", "must be 0–100000")
        try check((0...64).contains(api.historicalQueriesMax), "api.historicalQueriesMax", "must be 0–64")
        try check((1...10_000_000).contains(api.historyBlocksScannedMax), "api.historyBlocksScannedMax", "must be 1–10000000")
        try check((1000...600_000).contains(access.signedRequestSkewMilliseconds), "access.signedRequestSkewMilliseconds", "must be 1000–600000")
        try check((1...10_000_000).contains(access.replayCacheEntriesMax), "access.replayCacheEntriesMax", "must be 1–10000000")
        for (index, credential) in access.credentials.enumerated() {
            try check(!credential.name.isEmpty, "access.credentials[\(index)].name", "must not be empty")
            try check(Hash(hex: credential.tokenSha256) != nil, "access.credentials[\(index)].tokenSha256", "must be 64 hex digits (the SHA-256 of the token, never the token)")
        }
        try check(Set(access.credentials.map { $0.tokenSha256.lowercased() }).count == access.credentials.count, "access.credentials", "must not repeat a token")
        try check(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel), "logLevel", "must be one of trace, debug, info, notice, warning, error, critical")
    }
}
