public import Foundation
public import KizunaCore
import KizunaNode

/// The codes of the card custodian's refusals (`docs/cards.md` §6). A payment refused by the
/// ledger carries the ledger's own code (`ledger.card_daily_cap_exceeded`, `ledger.frozen`, …).
public enum CardServiceErrorCode: String, ErrorCode {
    /// The configuration file is missing, unreadable, not TOML, or a field is wrong.
    case badConfig = "card.bad_config"
    /// The passphrase does not open this data folder's vault (or the vault was altered).
    case wrongPassphrase = "card.wrong_passphrase"
    /// The data folder's store cannot be opened, read or written.
    case store = "card.store"
    /// A request body that is not the JSON the route takes, or a field out of range.
    case badRequest = "card.bad_request"
    /// A PIN that is not 4 to 12 digits.
    case badPinFormat = "card.bad_pin_format"
    /// No card with this id was issued here.
    case unknownCard = "card.unknown_card"
    /// The card is locked after too many wrong PINs; the registrar unlocks it.
    case locked = "card.locked"
    /// The PIN is wrong (the answer says how many attempts remain).
    case wrongPin = "card.wrong_pin"
    /// The terminal's request is older (or further in the future) than the service accepts.
    case requestExpired = "card.request_expired"
    /// The terminal reused a request nonce for a different payment.
    case requestNonceReused = "card.request_nonce_reused"
    /// The request's signer is not a registered, unfrozen merchant.
    case notAMerchant = "card.not_a_merchant"
    /// The signer of an administration request is not the registrar.
    case notRegistrar = "card.not_registrar"
    /// The node could not be reached or did not answer; the payment (if signed) stays pending.
    case nodeUnavailable = "card.node_unavailable"
    /// The payment was signed and submitted but its outcome is not known yet: retry the same
    /// request to learn it (it is never paid twice).
    case paymentPending = "card.payment_pending"
}

public typealias CardServiceError = CodedError<CardServiceErrorCode>

/// `kizuna card-service`'s configuration file (TOML; field by field in `docs/cards.md` §7).
/// Relative paths are resolved against the folder of the file.
public struct CardServiceConfiguration: Sendable, Equatable {
    /// The chain's genesis JSON (chain id, registrar key, card policy).
    public var genesisFile: String
    /// The custodian's own store (RocksDB): sealed card keys, PIN hashes, request records.
    public var dataDirectory: String
    /// A file whose first line is the operator's passphrase (at least 12 characters): the
    /// vault key that seals the card keys and peppers the PIN hashes is derived from it.
    public var keyPassphraseFile: String
    public var logLevel: String
    public var host: String
    public var port: Int
    /// The node's API, e.g. `http://127.0.0.1:8081`.
    public var nodeURL: String
    /// A member's or auditor's bearer token file, to check that a terminal's key is a
    /// registered merchant; nil: the environment variable `KIZUNA_TOKEN`.
    public var tokenFile: String?
    /// Wrong PINs in a row after which a card locks.
    public var pinAttemptsMax: Int
    /// scrypt's cost (log2 N) for new PIN hashes.
    public var pinScryptLogN: Int
    /// How far a terminal request's time may be from the service's clock.
    public var requestMaxAgeMilliseconds: UInt64
    /// How long a payment waits for its commit before answering `card.payment_pending`.
    public var commitWaitMilliseconds: UInt64
    /// Where `GET /metrics` is served (e.g. `127.0.0.1:9190`); nil: not served.
    public var metricsListen: String?

    public init(genesisFile: String, dataDirectory: String, keyPassphraseFile: String, nodeURL: String, logLevel: String = "info", host: String = "127.0.0.1", port: Int = 8090, tokenFile: String? = nil, pinAttemptsMax: Int = 3, pinScryptLogN: Int = 14, requestMaxAgeMilliseconds: UInt64 = 60_000, commitWaitMilliseconds: UInt64 = 20_000, metricsListen: String? = nil) {
        self.genesisFile = genesisFile
        self.dataDirectory = dataDirectory
        self.keyPassphraseFile = keyPassphraseFile
        self.nodeURL = nodeURL
        self.logLevel = logLevel
        self.host = host
        self.port = port
        self.tokenFile = tokenFile
        self.pinAttemptsMax = pinAttemptsMax
        self.pinScryptLogN = pinScryptLogN
        self.requestMaxAgeMilliseconds = requestMaxAgeMilliseconds
        self.commitWaitMilliseconds = commitWaitMilliseconds
        self.metricsListen = metricsListen
    }

    static let topFields = ["genesisFile", "dataDirectory", "keyPassphraseFile", "logLevel", "api", "node", "pin", "requests", "metrics"]
    static let tableFields = [
        "api": ["host", "port"], "node": ["url", "tokenFile", "commitWaitMilliseconds"], "pin": ["attemptsMax", "scryptLogN"],
        "requests": ["maxAgeMilliseconds"], "metrics": ["listen"],
    ]

    /// Reads and checks a configuration file. Unknown fields are refused (a typo must not
    /// silently fall back to a default).
    public static func load(path: String) throws(CardServiceError) -> CardServiceConfiguration {
        try TOMLConfigurationReader<CardServiceErrorCode>.load(path: path, code: .badConfig, parse(_:name:folder:))
    }

    /// Parses the TOML text; `name` labels messages, `folder` resolves relative paths.
    public static func parse(_ text: String, name: String, folder: URL) throws(CardServiceError) -> CardServiceConfiguration {
        let toml = try TOMLConfigurationReader(text, name: name, folder: folder, code: CardServiceErrorCode.badConfig, fields: topFields, tables: tableFields)
        let url = try toml.nodeURL()
        let logLevel = try toml.logLevel()
        let metricsListen = try toml.string("metrics", "listen")
        if let metricsListen, NodeConfiguration.hostAndPort(metricsListen) == nil {
            throw toml.failure("'metrics.listen' must be host:port, e.g. 127.0.0.1:9190")
        }
        return CardServiceConfiguration(
            genesisFile: toml.path(try toml.required(nil, "genesisFile", "the chain's genesis JSON")),
            dataDirectory: toml.path(try toml.required(nil, "dataDirectory", "the custodian's own store")),
            keyPassphraseFile: toml.path(try toml.required(nil, "keyPassphraseFile", "the file whose first line is the passphrase that seals the card keys")),
            nodeURL: url,
            logLevel: logLevel,
            host: try toml.string("api", "host") ?? "127.0.0.1",
            port: try toml.integer("api", "port", 1...65_535) ?? 8090,
            tokenFile: try toml.string("node", "tokenFile").map(toml.path),
            pinAttemptsMax: try toml.integer("pin", "attemptsMax", 1...10) ?? 3,
            pinScryptLogN: try toml.integer("pin", "scryptLogN", CardVault.logNRange) ?? 14,
            requestMaxAgeMilliseconds: UInt64(try toml.integer("requests", "maxAgeMilliseconds", 5_000...600_000) ?? 60_000),
            commitWaitMilliseconds: UInt64(try toml.integer("node", "commitWaitMilliseconds", 1_000...600_000) ?? 20_000),
            metricsListen: metricsListen
        )
    }

    /// The bearer token: from `tokenFile`, else `KIZUNA_TOKEN`.
    public func token(environment: [String: String] = ProcessInfo.processInfo.environment) throws(CardServiceError) -> String {
        let token = try TOMLConfigurationReader<CardServiceErrorCode>.bearerToken(file: tokenFile, environment: environment, code: .badConfig)
        guard let token else {
            throw CardServiceError(.badConfig, "the service needs a member's or auditor's token to check that terminals are merchants: set node.tokenFile or KIZUNA_TOKEN")
        }
        return token
    }

    /// A commented configuration with every field (`kizuna card-service --print-config`).
    public static let example = """
    # kizuna card-service configuration (docs/cards.md §7). Relative paths are resolved
    # against this file's folder.
    genesisFile = "genesis.json"          # the chain's genesis (needs a cardPolicy)
    dataDirectory = "card-data"           # sealed card keys, PIN hashes, request records
    keyPassphraseFile = "card-vault.pass" # first line: the passphrase (>= 12 characters)
    logLevel = "info"

    [api]
    host = "127.0.0.1"                    # put a TLS proxy in front for terminals
    port = 8090

    [node]
    url = "http://127.0.0.1:8081"
    tokenFile = "auditor.token"           # member or auditor token (else KIZUNA_TOKEN)
    commitWaitMilliseconds = 20000        # then answer card.payment_pending

    [pin]
    attemptsMax = 3                       # wrong PINs in a row before the card locks
    scryptLogN = 14                       # 16 MiB and tens of ms per PIN check

    [requests]
    maxAgeMilliseconds = 60000            # a terminal request's time vs this clock

    [metrics]
    # listen = "127.0.0.1:9190"           # GET /metrics (Prometheus)
    """
}
