public import Foundation
public import KizunaCore
import KizunaNode

/// The codes of the indexer's refusals (docs/indexer.md §7).
public enum IndexerErrorCode: String, ErrorCode {
    /// The configuration file is missing, unreadable, not TOML, or a field is wrong.
    case badConfig = "indexer.bad_config"
    /// The database already indexes another chain (chain id or genesis hash differ).
    case wrongChain = "indexer.wrong_chain"
    /// The node's block at the indexed height is not the one the database holds.
    case fork = "indexer.fork"
    /// A block from the node did not verify (certificate, signatures, state root, invariants).
    case verifyFailed = "indexer.verify_failed"
    /// The node could not be read (unreachable, refused, a bad answer) after the retries.
    case node = "indexer.node"
    /// PostgreSQL refused a connection or a statement.
    case database = "indexer.database"
    /// Another writer moved the indexed height while this one was writing.
    case concurrentWriter = "indexer.concurrent_writer"
    /// The database's schema is of a version this indexer does not know.
    case schemaVersion = "indexer.schema_version"
    /// A value does not fit the column it goes into (a 64-bit amount above 2^63 − 1).
    case valueOutOfRange = "indexer.value_out_of_range"
}

public typealias IndexerError = CodedError<IndexerErrorCode>

/// `kizuna index`'s configuration file (TOML; field by field in docs/indexer.md §5).
/// Relative paths are resolved against the folder of the file.
public struct IndexerConfiguration: Sendable, Equatable {
    /// The genesis JSON of the chain (the indexer's own copy: blocks are verified against it).
    public var genesisFile: String
    /// The node's API, e.g. `http://127.0.0.1:8081`.
    public var nodeURL: String
    /// A file with a member's or auditor's bearer token (blocks are served to them only);
    /// nil: the environment variable `KIZUNA_TOKEN`.
    public var tokenFile: String?
    public var postgres: Postgres
    /// Blocks written in one PostgreSQL transaction at most (when catching up).
    public var batchBlocksMax: Int
    /// How long to wait before asking the node again when the index is at its tip.
    public var pollMilliseconds: Int
    /// The ledger's invariants are checked after every block at the cost of what it changed;
    /// this also scans the whole state every this many blocks (0: never, the default).
    public var invariantsEveryBlocks: UInt64
    public var logLevel: String

    public struct Postgres: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        /// A file with the password; nil: the environment variable `KIZUNA_POSTGRES_PASSWORD`
        /// (or none, for trust or peer authentication).
        public var passwordFile: String?
        public var password: String?
        public var database: String
        /// The read-only role of the city's BI tools: granted the views of `kizuna_bi` only.
        /// nil: no grants are made.
        public var biRole: String?

        public init(host: String = "127.0.0.1", port: Int = 5432, user: String, password: String? = nil, passwordFile: String? = nil, database: String, biRole: String? = nil) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.passwordFile = passwordFile
            self.database = database
            self.biRole = biRole
        }
    }

    public init(genesisFile: String, nodeURL: String, tokenFile: String? = nil, postgres: Postgres, batchBlocksMax: Int = 64, pollMilliseconds: Int = 500, invariantsEveryBlocks: UInt64 = 0, logLevel: String = "info") {
        self.genesisFile = genesisFile
        self.nodeURL = nodeURL
        self.tokenFile = tokenFile
        self.postgres = postgres
        self.batchBlocksMax = batchBlocksMax
        self.pollMilliseconds = pollMilliseconds
        self.invariantsEveryBlocks = invariantsEveryBlocks
        self.logLevel = logLevel
    }

    static let topFields = ["genesisFile", "logLevel", "node", "postgres", "indexer"]
    static let nodeFields = ["url", "tokenFile"]
    static let postgresFields = ["host", "port", "user", "passwordFile", "database", "biRole"]
    static let indexerFields = ["batchBlocksMax", "pollMilliseconds", "invariantsEveryBlocks"]

    /// Reads and checks a TOML configuration file. Unknown fields are refused (a typo must
    /// not silently fall back to a default).
    public static func load(path: String) throws(IndexerError) -> IndexerConfiguration {
        try TOMLConfigurationReader<IndexerErrorCode>.load(path: path, code: .badConfig, parse(_:name:folder:))
    }

    /// Parses the TOML text; `name` labels messages, `folder` resolves relative paths.
    public static func parse(_ text: String, name: String, folder: URL) throws(IndexerError) -> IndexerConfiguration {
        let toml = try TOMLConfigurationReader(
            text, name: name, folder: folder, code: IndexerErrorCode.badConfig,
            fields: topFields, tables: ["node": nodeFields, "postgres": postgresFields, "indexer": indexerFields]
        )
        let genesis = try toml.required(nil, "genesisFile", "the chain's genesis JSON")
        let url = try toml.nodeURL()
        let user = try toml.required("postgres", "user", "the role that owns the index's schema")
        let database = try toml.required("postgres", "database")
        let biRole = try toml.string("postgres", "biRole")
        if let biRole {
            guard biRole.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), biRole.first?.isLetter == true, biRole.count <= 63 else {
                throw toml.failure("'postgres.biRole' must be a role name of letters, digits and _ (at most 63), starting with a letter")
            }
            guard biRole != user else { throw toml.failure("'postgres.biRole' must not be the indexer's own role '\(user)'") }
        }
        var configuration = IndexerConfiguration(
            genesisFile: toml.path(genesis),
            nodeURL: url,
            tokenFile: try toml.string("node", "tokenFile").map(toml.path),
            postgres: Postgres(
                host: try toml.string("postgres", "host") ?? "127.0.0.1",
                port: try toml.integer("postgres", "port", 1...65_535) ?? 5432,
                user: user,
                passwordFile: try toml.string("postgres", "passwordFile").map(toml.path),
                database: database,
                biRole: biRole
            ),
            logLevel: try toml.logLevel()
        )
        configuration.batchBlocksMax = try toml.integer("indexer", "batchBlocksMax", 1...10_000) ?? 64
        configuration.pollMilliseconds = try toml.integer("indexer", "pollMilliseconds", 10...600_000) ?? 500
        configuration.invariantsEveryBlocks = UInt64(try toml.integer("indexer", "invariantsEveryBlocks", 0...1_000_000) ?? 0)
        return configuration
    }

    /// The bearer token: from `tokenFile`, else `KIZUNA_TOKEN`; nil when neither is set.
    public func token(environment: [String: String] = ProcessInfo.processInfo.environment) throws(IndexerError) -> String? {
        try TOMLConfigurationReader<IndexerErrorCode>.bearerToken(file: tokenFile, environment: environment, code: .badConfig)
    }

    /// The PostgreSQL password: the configured value, `passwordFile`, else
    /// `KIZUNA_POSTGRES_PASSWORD`; nil for trust or peer authentication.
    public func postgresPassword(environment: [String: String] = ProcessInfo.processInfo.environment) throws(IndexerError) -> String? {
        if let password = postgres.password { return password }
        if let file = postgres.passwordFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw IndexerError(.badConfig, "cannot read the password file \(file) (postgres.passwordFile)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return environment["KIZUNA_POSTGRES_PASSWORD"]
    }
}
