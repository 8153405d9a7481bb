public import Foundation

/// A node's configuration file (JSON). Relative paths are resolved against the folder of
/// the configuration file, so a network folder can be moved as a whole.
/// Documented field by field in `docs/operations.md`.
public struct NodeConfiguration: Codable, Sendable, Equatable {
    public struct API: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
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

    public static let defaults = NodeConfiguration(
        dataDirectory: "data", genesisFile: "genesis.json", validatorKeyFile: "validator.key.json",
        api: API(host: "127.0.0.1", port: 8080),
        blockIntervalMilliseconds: 200, emptyBlockIntervalMilliseconds: 5000,
        blockTransactionsMax: 2000, mempoolTransactionsMax: 20_000, mempoolTransactionsPerAccountMax: 64,
        requestBodyBytesMax: 65_536, commitWaitMilliseconds: 30_000, logLevel: "info"
    )

    public init(dataDirectory: String, genesisFile: String, validatorKeyFile: String, api: API, blockIntervalMilliseconds: UInt64, emptyBlockIntervalMilliseconds: UInt64, blockTransactionsMax: Int, mempoolTransactionsMax: Int, mempoolTransactionsPerAccountMax: Int, requestBodyBytesMax: Int, commitWaitMilliseconds: UInt64, logLevel: String) {
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
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataDirectory, genesisFile, validatorKeyFile, api, blockIntervalMilliseconds, emptyBlockIntervalMilliseconds
        case blockTransactionsMax, mempoolTransactionsMax, mempoolTransactionsPerAccountMax, requestBodyBytesMax
        case commitWaitMilliseconds, logLevel
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
        } catch let DecodingError.keyNotFound(key, _) {
            throw ConfigurationError(code: "config.missing_field", message: "\(path): the field '\(key.stringValue)' is required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ConfigurationError(code: "config.invalid_field", message: "\(path): '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw ConfigurationError(code: "config.invalid_json", message: "\(path) is not valid JSON: \(error)")
        }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            let known = Set(CodingKeys.allCases.map(\.rawValue))
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw ConfigurationError(code: "config.unknown_field", message: "\(path): unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
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
        try check(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel), "logLevel", "must be one of trace, debug, info, notice, warning, error, critical")
    }
}
