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
    /// Check the ledger's invariants every this many blocks (always at the end of a batch).
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

    public init(genesisFile: String, nodeURL: String, tokenFile: String? = nil, postgres: Postgres, batchBlocksMax: Int = 64, pollMilliseconds: Int = 500, invariantsEveryBlocks: UInt64 = 1, logLevel: String = "info") {
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
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Reads and checks a TOML configuration file. Unknown fields are refused (a typo must
    /// not silently fall back to a default).
    public static func load(path: String) throws(IndexerError) -> IndexerConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw IndexerError(.badConfig, "cannot read the configuration file \(path)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try parse(text, name: path, folder: folder)
    }

    /// Parses the TOML text; `name` labels messages, `folder` resolves relative paths.
    public static func parse(_ text: String, name: String, folder: URL) throws(IndexerError) -> IndexerConfiguration {
        let document: [String: Any]
        do {
            document = try TOMLDocument.parse(text)
        } catch {
            throw IndexerError(.badConfig, "\(name): \(error)", cause: error)
        }
        func unknown(_ table: [String: Any], _ known: [String], _ prefix: String) throws(IndexerError) {
            if let field = table.keys.sorted().first(where: { !known.contains($0) }) {
                throw IndexerError(.badConfig, "\(name): unknown field '\(prefix)\(field)' (known: \(known.map { prefix + $0 }.joined(separator: ", ")))")
            }
        }
        func table(_ key: String) throws(IndexerError) -> [String: Any] {
            guard let value = document[key] else { return [:] }
            guard let table = value as? [String: Any] else { throw IndexerError(.badConfig, "\(name): '\(key)' must be a table ([\(key)])") }
            return table
        }
        func string(_ table: [String: Any], _ key: String, _ label: String) throws(IndexerError) -> String? {
            guard let value = table[key] else { return nil }
            guard let text = value as? String, !text.isEmpty else { throw IndexerError(.badConfig, "\(name): '\(label)' must be a non-empty string") }
            return text
        }
        func integer(_ table: [String: Any], _ key: String, _ label: String, _ range: ClosedRange<Int>) throws(IndexerError) -> Int? {
            guard let value = table[key] else { return nil }
            guard let number = (value as? Int64).map(Int.init) ?? (value as? Int), range.contains(number) else {
                throw IndexerError(.badConfig, "\(name): '\(label)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func path(_ value: String) -> String {
            value.hasPrefix("/") ? value : folder.appendingPathComponent(value).standardizedFileURL.path
        }
        try unknown(document, topFields, "")
        let node = try table("node")
        let postgres = try table("postgres")
        let indexer = try table("indexer")
        try unknown(node, nodeFields, "node.")
        try unknown(postgres, postgresFields, "postgres.")
        try unknown(indexer, indexerFields, "indexer.")
        guard let genesis = try string(document, "genesisFile", "genesisFile") else {
            throw IndexerError(.badConfig, "\(name): the field 'genesisFile' is required (the chain's genesis JSON)")
        }
        guard let url = try string(node, "url", "node.url") else {
            throw IndexerError(.badConfig, "\(name): the field 'node.url' is required (the node's API, e.g. http://127.0.0.1:8081)")
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https", parsed.host?.isEmpty == false else {
            throw IndexerError(.badConfig, "\(name): 'node.url' must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")
        }
        guard let user = try string(postgres, "user", "postgres.user") else {
            throw IndexerError(.badConfig, "\(name): the field 'postgres.user' is required (the role that owns the index's schema)")
        }
        guard let database = try string(postgres, "database", "postgres.database") else {
            throw IndexerError(.badConfig, "\(name): the field 'postgres.database' is required")
        }
        let biRole = try string(postgres, "biRole", "postgres.biRole")
        if let biRole {
            guard biRole.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), biRole.first?.isLetter == true, biRole.count <= 63 else {
                throw IndexerError(.badConfig, "\(name): 'postgres.biRole' must be a role name of letters, digits and _ (at most 63), starting with a letter")
            }
            guard biRole != user else { throw IndexerError(.badConfig, "\(name): 'postgres.biRole' must not be the indexer's own role '\(user)'") }
        }
        let logLevel = try string(document, "logLevel", "logLevel") ?? "info"
        guard logLevels.contains(logLevel) else {
            throw IndexerError(.badConfig, "\(name): 'logLevel' must be one of \(logLevels.joined(separator: ", "))")
        }
        var configuration = IndexerConfiguration(
            genesisFile: path(genesis),
            nodeURL: url,
            tokenFile: try string(node, "tokenFile", "node.tokenFile").map(path),
            postgres: Postgres(
                host: try string(postgres, "host", "postgres.host") ?? "127.0.0.1",
                port: try integer(postgres, "port", "postgres.port", 1...65_535) ?? 5432,
                user: user,
                passwordFile: try string(postgres, "passwordFile", "postgres.passwordFile").map(path),
                database: database,
                biRole: biRole
            ),
            logLevel: logLevel
        )
        configuration.batchBlocksMax = try integer(indexer, "batchBlocksMax", "indexer.batchBlocksMax", 1...10_000) ?? 64
        configuration.pollMilliseconds = try integer(indexer, "pollMilliseconds", "indexer.pollMilliseconds", 10...600_000) ?? 500
        configuration.invariantsEveryBlocks = UInt64(try integer(indexer, "invariantsEveryBlocks", "indexer.invariantsEveryBlocks", 1...1_000_000) ?? 1)
        return configuration
    }

    /// The bearer token: from `tokenFile`, else `KIZUNA_TOKEN`; nil when neither is set.
    public func token(environment: [String: String] = ProcessInfo.processInfo.environment) throws(IndexerError) -> String? {
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw IndexerError(.badConfig, "cannot read the token file \(tokenFile) (node.tokenFile)")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return token.isEmpty ? nil : token
        }
        let token = environment["KIZUNA_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        return (token?.isEmpty ?? true) ? nil : token
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
