import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaNode
import KizunaAPI
import KizunaStorage
import KizunaWallet

/// An in-process node on an in-memory store, its router, a controllable clock for signed
/// requests, and a small populated chain (registered residents and a merchant, charges, a
/// payment, a send, a program and a grant).
final class APIFixture: Sendable {
    static let validatorKey = DevelopmentKeys.privateKey("validator-city")
    static let registrar = DevelopmentKeys.privateKey("registrar")
    static let coinIssuer = DevelopmentKeys.privateKey("coin-issuer")
    static let city = DevelopmentKeys.privateKey("city")
    static let auditorAuthority = DevelopmentKeys.privateKey("auditor")
    static let resident1 = DevelopmentKeys.privateKey("resident-1")
    static let resident2 = DevelopmentKeys.privateKey("resident-2")
    static let resident3 = DevelopmentKeys.privateKey("resident-3")
    static let merchant = DevelopmentKeys.privateKey("merchant-1")
    static let memberToken = "member-token-for-tests-0123456789"
    static let auditorToken = "auditor-token-for-tests-0123456789"
    static let chainId = "local-api-test"

    let node: Node
    let genesis: Genesis
    private let clockMilliseconds: Counter
    let blockMilliseconds: Counter

    /// A shared, lockable millisecond value.
    final class Counter: Sendable {
        private let value: Mutex<UInt64>
        init(_ start: UInt64) { value = Mutex(start) }
        func withLock<T>(_ body: (inout UInt64) -> T) -> T { value.withLock { body(&$0) } }
    }

    static func makeGenesis() -> Genesis {
        Genesis(
            chainId: chainId,
            genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: [Validator(name: "city", organisation: "Test City", publicKey: validatorKey.publicKey, votingPower: 1)],
            authorities: Authorities(coinIssuer: coinIssuer.publicKey, registrar: registrar.publicKey, city: city.publicKey, auditor: auditorAuthority.publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
        )
    }

    static func defaultConfiguration() -> NodeConfiguration {
        var configuration = NodeConfiguration.defaults
        configuration.commitWaitMilliseconds = 5_000
        configuration.blockIntervalMilliseconds = 20
        configuration.access = .init(credentials: [
            .init(name: "chamber", role: .member, tokenSha256: Hash.sha256(Array(memberToken.utf8)).hex),
            .init(name: "audit-office", role: .auditor, tokenSha256: Hash.sha256(Array(auditorToken.utf8)).hex),
        ])
        return configuration
    }

    init(configure: (inout NodeConfiguration) -> Void = { _ in }) throws {
        genesis = APIFixture.makeGenesis()
        var configuration = APIFixture.defaultConfiguration()
        configure(&configuration)
        let blocks = try BlockStore(store: MemoryStore(), genesis: genesis)
        var logger = Logger(label: "api-test")
        logger.logLevel = .warning
        node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: APIFixture.validatorKey, logger: logger)
        clockMilliseconds = Counter(CivilTime.parseRFC3339("2026-05-01T12:00:00+09:00")!)
        blockMilliseconds = Counter(genesis.genesisTime)
    }

    /// The wall clock the API checks signed timestamps against.
    var now: UInt64 { clockMilliseconds.withLock { $0 } }
    func advanceClock(milliseconds: UInt64) { clockMilliseconds.withLock { $0 += milliseconds } }

    func router() -> Router<APIRequestContext> {
        let clock = clockMilliseconds
        var logger = Logger(label: "api-test")
        logger.logLevel = .critical
        return APIServer.router(node: node, clock: { clock.withLock { $0 } }, logger: logger)
    }

    func application() -> some ApplicationProtocol {
        Application(router: router())
    }

    /// Submits and commits `transactions` in one block; returns the block.
    @discardableResult
    func commit(_ transactions: [SignedTransaction]) async throws -> Block {
        for transaction in transactions {
            try await node.submit(try transaction.verified(chainId: APIFixture.chainId))
        }
        let time = blockMilliseconds.withLock { value in
            value += 60_000
            return value
        }
        return try await node.produceBlock(nowMilliseconds: time)
    }

    /// Registers resident-1, resident-2 and a restaurant, charges the residents, and commits
    /// a payment, a send, a points program and a grant (heights 1–5).
    func populate() async throws {
        var registrar = TransactionBuilder(chainId: APIFixture.chainId, key: APIFixture.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: APIFixture.chainId, key: APIFixture.coinIssuer, nextNonce: 0)
        var city = TransactionBuilder(chainId: APIFixture.chainId, key: APIFixture.city, nextNonce: 0)
        var one = TransactionBuilder(chainId: APIFixture.chainId, key: APIFixture.resident1, nextNonce: 0)
        var two = TransactionBuilder(chainId: APIFixture.chainId, key: APIFixture.resident2, nextNonce: 0)
        try await commit([
            registrar.register(APIFixture.resident1.publicKey, role: .resident, district: "higashi", ageBand: 3),
            registrar.register(APIFixture.resident2.publicKey, role: .resident),
            registrar.register(APIFixture.merchant.publicKey, role: .merchant, merchantCategory: "restaurant"),
        ])
        try await commit([
            issuer.charge(to: APIFixture.resident1.publicKey, amount: 10_000, receiptId: "r-1"),
            issuer.charge(to: APIFixture.resident2.publicKey, amount: 5_000, receiptId: "r-2"),
        ])
        try await commit([one.pay(merchant: APIFixture.merchant.publicKey, amount: 1_200), two.send(to: APIFixture.resident1.publicKey, amount: 300)])
        try await commit([city.createProgram(CreateProgram(asset: .point, name: "green", funder: APIFixture.city.publicKey, budgetYen: 100_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 5_000))])
        try await commit([city.grant(program: 1, to: APIFixture.resident1.publicKey, amount: 500)])
    }

    /// Headers for a request signed by `key` at the fixture's clock (advanced by 1 ms each
    /// time, so two signed requests never collide in the replay cache).
    func signed(_ key: PrivateKey, _ target: String, method: String = "GET", at timestamp: UInt64? = nil) -> HTTPFields {
        advanceClock(milliseconds: 1)
        let signer = RequestSigner(chainId: APIFixture.chainId, key: key)
        var fields = HTTPFields()
        for (name, value) in signer.headers(method: method, target: target, timestampMilliseconds: timestamp ?? now) {
            fields[HTTPField.Name(name)!] = value
        }
        return fields
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
}

extension TestResponse {
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] }
    var text: String { String(buffer: body) }
    /// The `code` of a problem document.
    var code: String? { json?["code"] as? String }
    var isProblem: Bool { headers[.contentType] == "application/problem+json" }
}

/// Runs `body` while a task commits pending transactions, as the node's producer does.
func withProducer<T: Sendable>(_ fixture: APIFixture, _ body: () async throws -> T) async throws -> T {
    let producer = Task {
        var time = CivilTime.parseRFC3339("2026-06-01T00:00:00+09:00")!
        while !Task.isCancelled {
            if await fixture.node.pendingCount > 0 {
                time += 1000
                _ = try? await fixture.node.produceBlock(nowMilliseconds: time)
            }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }
    defer { producer.cancel() }
    return try await body()
}

extension ValidatedBlock {
    /// This block committed by a precommit of the one validator of a single-validator test chain.
    func committedBySingleValidator(_ key: PrivateKey, genesis: Genesis) throws -> CommittedBlock {
        let certificate = CommitCertificate(height: height, round: 0, blockHash: hash, signatures: [
            CommitCertificate.precommit(chainId: genesis.chainId, height: height, round: 0, blockHash: hash, key: key),
        ])
        return try committed(by: certificate, chainId: genesis.chainId, validators: genesis.validators)
    }
}
