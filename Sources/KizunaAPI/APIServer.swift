public import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger
import Logging
import NIOCore
import HTTPTypes
import Foundation

/// The request context of the API: Hummingbird's core storage and the client's address
/// (the rate limiter's key).
public struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The rate limiter's key: the client's IP address ("local" without a socket, in tests).
    var clientKey: String { remoteAddress?.ipAddress ?? "local" }

    /// Whether the client is on the loopback interface.
    var isLoopback: Bool {
        guard let ip = remoteAddress?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }
}

/// The node's HTTP API (design §3; `docs/api.md`, `docs/openapi.yaml`). Open data (status,
/// headers, supply, programs, statutory reports, aggregates) is served to anyone; an
/// account's balance, history and receipts only to a request signed by that account's key or
/// to member/auditor bearer credentials; full blocks only to members and auditors. Every
/// error is an RFC 9457 problem document with a stable code.
public enum APIServer {
    /// Everything the handlers share.
    final class Shared: Sendable {
        let node: Node
        let access: AccessControl
        let rateLimiter: RateLimiter
        let historicalQueries: QueryGate
        let events: EventSubscribers
        let logger: Logger

        init(node: Node, clock: @escaping @Sendable () -> UInt64, logger: Logger) {
            let configuration = node.configuration
            self.node = node
            self.access = AccessControl(chainId: node.genesis.chainId, access: configuration.access, clock: clock)
            self.rateLimiter = RateLimiter(ratePerSecond: configuration.api.requestsPerSecondPerClient, burst: configuration.api.requestBurstPerClient, clientsMax: configuration.api.rateLimitedClientsMax, clockNanoseconds: { clock() &* 1_000_000 })
            self.historicalQueries = QueryGate(limit: configuration.api.historicalQueriesMax)
            self.events = EventSubscribers(limit: configuration.api.eventSubscribersMax)
            self.logger = logger
        }
    }

    /// The largest total size of a request's header fields (names and values).
    public static let headerBytesMax = 16 * 1024

    /// The Prometheus exposition of `metrics`.
    public static func metricsResponse(_ metrics: NodeMetrics) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
    }

    /// The operator port's router: `GET /metrics` and `GET /health`, nothing else.
    public static func metricsRouter(node: Node) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ in metricsResponse(node.metrics) }
        router.get("/health") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}"))) }
        return router
    }

    /// Builds the router for `node`.
    /// - Parameters:
    ///   - node: the node whose chain the API serves.
    ///   - clock: the wall clock signed-request timestamps are checked against.
    ///   - logger: where internal errors are logged.
    ///   - addRoutes: more routes served on the same port (the web console, `KizunaConsole`),
    ///     added before the 405 check so a wrong method on them is answered 405 too.
    public static func router(node: Node, clock: @escaping @Sendable () -> UInt64 = wallClockMilliseconds, logger: Logger = Logger(label: "kizuna.api"), addRoutes: (Router<APIRequestContext>) -> Void = { _ in }) -> Router<APIRequestContext> {
        let shared = Shared(node: node, clock: clock, logger: logger)
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ProblemMiddleware(logger: logger))
        router.add(middleware: LimitsMiddleware(rateLimiter: shared.rateLimiter, limitLoopback: node.configuration.api.rateLimitLoopback))
        // Request count and duration per route and status (swift-metrics; recorded into the
        // node's registry once the process bootstraps it, see NodeRunner).
        router.add(middleware: MetricsMiddleware())

        router.get("/health") { _, _ in
            try json(HealthResponse(status: "ok"))
        }
        if node.configuration.metrics == nil {
            // With a [metrics] section the metrics are on the operator port only.
            router.get("/metrics") { _, _ in metricsResponse(node.metrics) }
        }
        let openAPI = ByteBuffer(string: APIDocument.openAPI)
        router.get("/v1/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: openAPI))
        }
        addChainRoutes(to: router, shared)
        addCanonicalRoutes(to: router, shared)
        addTransactionRoutes(to: router, shared)
        addAccountRoutes(to: router, shared)
        addReportRoutes(to: router, shared)
        addBusinessRoutes(to: router, shared)
        addTownRoutes(to: router, shared)
        addEventRoutes(to: router, shared)
        addAdminRoutes(to: router, shared)
        addGovernanceRoutes(to: router, shared)
        addRoutes(router)
        // Last: every route is known by now. It sits in front of Hummingbird's not-found
        // responder only, and turns a known path asked with another method into 405.
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        return router
    }

    // MARK: - Status, headers, blocks

    static func addChainRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        router.get("/v1/status") { _, _ in
            let tip = try node.tip()
            // "Voting": the validator signed the certificate that committed the tip.
            let signers = Set(try node.certificate(at: tip.height)?.signatures.map(\.validator) ?? [])
            return try json(StatusResponse(
                chainId: node.genesis.chainId,
                height: tip.height,
                tipHash: tip.hash.hex,
                stateRoot: tip.stateRoot.hex,
                timestamp: CivilTime.formatJapan(milliseconds: tip.timestamp),
                pendingTransactions: await node.pendingCount,
                validators: try node.validatorSet(at: tip.height + 1).validators.map {
                    .init(name: $0.name, organisation: $0.organisation, publicKey: $0.publicKey.address.description, votingPower: $0.votingPower, voting: tip.height == 0 ? nil : signers.contains($0.publicKey))
                },
                node: node.validatorPublicKey.address.description,
                catchingUp: node.catchingUp.map { .init(height: $0.height, target: $0.target) }
            ))
        }
        router.get("/v1/headers/latest") { _, _ in
            let height = try node.tip().height
            guard height > 0, let header = try node.header(at: height) else {
                throw APIProblem(404, "api.no_such_block", "no block has been committed yet")
            }
            return try json(HeaderResponse(header))
        }
        router.get("/v1/headers/:height") { _, context in
            let height = try heightParameter(context)
            guard let header = try node.header(at: height) else {
                throw APIProblem(404, "api.no_such_block", "there is no block at height \(height) yet")
            }
            return try json(HeaderResponse(header))
        }
        router.get("/v1/blocks/latest") { request, _ in
            try requirePrivileged(request, shared)
            return try blockResponse(node, height: try node.tip().height)
        }
        router.get("/v1/blocks/:height") { request, context in
            try requirePrivileged(request, shared)
            return try blockResponse(node, height: try heightParameter(context))
        }
    }

    static func blockResponse(_ node: Node, height: UInt64) throws -> Response {
        guard height > 0, let block = try node.block(at: height) else {
            throw APIProblem(404, "api.no_such_block", "there is no block at height \(height) yet")
        }
        return try json(BlockView(block, certificate: try node.certificate(at: height)))
    }

    // MARK: - Transactions

    static func addTransactionRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        let bodyLimit = node.configuration.requestBodyBytesMax
        let chainId = node.genesis.chainId
        router.post("/v1/transactions") { request, context in
            var request = request
            let contentType = request.headers[.contentType]?.lowercased()
            guard let contentType, contentType.hasPrefix("application/octet-stream") || contentType.hasPrefix("application/json") else {
                throw APIProblem(415, "api.unsupported_media_type", "send the transaction as application/octet-stream (canonical bytes) or application/json ({\"transaction\": \"<hex>\"})")
            }
            if let wait = request.uri.queryParameters.get("wait"), wait != "commit" {
                throw APIProblem(400, "api.bad_query", "wait must be 'commit' or absent")
            }
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: bodyLimit)
            } catch {
                throw APIProblem(413, TransactionError.Code.tooLarge.rawValue, "the body exceeds \(bodyLimit) bytes")
            }
            let bytes = Array(buffer.readableBytesView)
            let signed: SignedTransaction
            do {
                let transaction = try transactionBytes(from: bytes, contentType: contentType)
                guard transaction.count <= TransactionLimits.transactionBytesMax else {
                    throw APIProblem(413, TransactionError.Code.tooLarge.rawValue, "a transaction of \(transaction.count) bytes exceeds the maximum of \(TransactionLimits.transactionBytesMax)")
                }
                signed = try SignedTransaction(untrusted: transaction)
            } catch let problem as APIProblem {
                throw problem
            } catch {
                throw APIProblem(400, TransactionError.Code.malformed.rawValue, "\(error)")
            }
            // A node syncing missing blocks judges nothing on its stale state: retryable.
            if let refusal = node.catchingUpRefusal() {
                throw APIProblem(503, refusal.error.code.rawValue, refusal.error.message, retryAfterSeconds: Int(refusal.retryAfterSeconds))
            }
            // Admission control first: under a campaign spike a refusal must cost less than a
            // signature check (docs/api.md §6).
            if let refusal = node.admissionRefusal(for: signed, client: context.clientKey) {
                throw APIProblem(503, TransactionError.Code.overloaded.rawValue, refusal.message, retryAfterSeconds: Int(refusal.retryAfterSeconds))
            }
            let verified: VerifiedTransaction
            node.metrics.add("kizuna_signature_verifications_total", label: "api")
            do throws(TransactionError) {
                verified = try signed.verified(chainId: chainId)
            } catch {
                throw APIProblem(422, error.code.rawValue, error.message)
            }
            // Admission runs the ledger's rules: a transaction that cannot apply is refused
            // here, finally, with the ledger's code; it is never left pending.
            do throws(TransactionError) {
                try await node.submitAllowingReorder(verified, client: context.clientKey)
            } catch {
                switch error.code {
                case .mempoolFull, .accountQueueFull: throw APIProblem(503, error.code.rawValue, error.message, retryAfterSeconds: 1)
                case .overloaded: throw APIProblem(503, error.code.rawValue, error.message, retryAfterSeconds: Int(node.admissionRetryAfterSeconds))
                case .duplicate: throw APIProblem(409, error.code.rawValue, error.message)
                default: throw APIProblem(422, error.code.rawValue, error.message)
                }
            }
            if request.uri.queryParameters.get("wait") == "commit" {
                let outcome = await node.waitForOutcome(of: verified.id, milliseconds: node.configuration.commitWaitMilliseconds)
                return try statusResponse(id: verified.id, outcome)
            }
            var response = try json(TransactionStatusResponse(id: verified.id.hex, status: "pending"))
            response.status = .accepted
            response.headers[.location] = "/v1/transactions/\(verified.id.hex)"
            return response
        }
        router.get("/v1/transactions/:id") { _, context in
            guard let text = context.parameters.get("id"), let id = Hash(hex: text) else {
                throw APIProblem(400, "api.bad_transaction_id", "a transaction id is 64 hex digits")
            }
            return try statusResponse(id: id, await node.status(of: id))
        }
    }

    /// Raw canonical bytes (`application/octet-stream`), or JSON `{"transaction": "<hex>"}`.
    static func transactionBytes(from body: [UInt8], contentType: String?) throws -> [UInt8] {
        if let contentType, contentType.hasPrefix("application/json") {
            struct Envelope: Decodable { var transaction: String }
            guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(body)), let bytes = [UInt8](hex: envelope.transaction) else {
                throw DecodingError(.invalidValue, "expected JSON {\"transaction\": \"<hex of the canonical encoding>\"}", offset: 0)
            }
            return bytes
        }
        return body
    }

    static func statusResponse(id: Hash, _ status: TransactionStatus) throws -> Response {
        switch status {
        case .pending:
            var response = try json(TransactionStatusResponse(id: id.hex, status: "pending"))
            response.status = .accepted
            return response
        case .deferred(let error):
            // Pending, with why the last block this node proposed left it out (not final).
            var response = try json(TransactionStatusResponse(id: id.hex, status: "pending", code: error.code.rawValue, message: "not in the last block this node proposed: \(error.message); it stays pending and may still commit"))
            response.status = .accepted
            return response
        case .committed(let receipt, let blockHash):
            return try json(TransactionStatusResponse(id: id.hex, status: "committed", height: receipt.height, index: receipt.index, blockHash: blockHash.hex))
        case .rejected(let error):
            var response = try json(TransactionStatusResponse(id: id.hex, status: "rejected", code: error.code.rawValue, message: error.message))
            response.status = .unprocessableContent
            return response
        case .unknown:
            throw APIProblem(404, "api.unknown_transaction", "this node has no record of transaction \(id)")
        }
    }
}

/// Turns every error into a problem document: `APIProblem` as it says, a route that does
/// not exist into `api.no_such_route`, anything else into 500 `api.internal` (logged).
/// Public so that other services on the API's conventions (`kizuna card-service`) answer alike.
public struct ProblemMiddleware: RouterMiddleware {
    public typealias Context = APIRequestContext
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as APIProblem {
            return APIServer.problem(.init(code: problem.status), code: problem.code, detail: problem.detail, retryAfterSeconds: problem.retryAfterSeconds)
        } catch let error as ChainError where error.code == .beforeSnapshot {
            // A node started from a state snapshot (docs/snapshots.md): gone here, held by an archive node.
            return APIServer.problem(.gone, code: error.code.rawValue, detail: error.message)
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: return APIServer.problem(.notFound, code: "api.no_such_route", detail: "no route \(request.method) \(request.uri.path); see /v1/openapi.yaml")
            case .methodNotAllowed: return APIServer.problem(.methodNotAllowed, code: "api.method_not_allowed", detail: "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge: return APIServer.problem(.contentTooLarge, code: "api.body_too_large", detail: error.body ?? "the request body is too large")
            default: return APIServer.problem(error.status, code: "api.http_error", detail: error.body ?? error.status.reasonPhrase)
            }
        } catch {
            logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIServer.problem(.internalServerError, code: "api.internal", detail: "the node could not answer: \(error)")
        }
    }
}

/// Answers a request for a path the API serves, with a method it does not serve there, with
/// 405 `api.method_not_allowed` and an `Allow` header listing the path's methods (RFC 9110
/// §15.5.6), instead of Hummingbird's 404: `TRACE /v1/status` is a wrong method, not a
/// missing resource. Paths no route matches stay 404 `api.no_such_route`.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    /// Each route's path and the methods it is served with.
    let paths: [(path: RouterPath, methods: [HTTPRequest.Method])]

    init(routes: [Router<APIRequestContext>.RouteDescription]) {
        var paths: [(path: RouterPath, methods: [HTTPRequest.Method])] = []
        for route in routes {
            if let index = paths.firstIndex(where: { $0.path == route.path }) {
                paths[index].methods.append(route.method)
            } else {
                paths.append((route.path, [route.method]))
            }
        }
        self.paths = paths.map { ($0.path, $0.methods.sorted { $0.rawValue < $1.rawValue }) }
    }

    /// The methods served on `path`, or nil if no route matches it. Where several routes
    /// match (`/v1/blocks/latest` and `/v1/blocks/:height`), the router picks the one whose
    /// first differing segment is literal, and so does this.
    func allowedMethods(path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (literal: [Bool], methods: [HTTPRequest.Method])?
        for route in paths where route.path.components.count == segments.count {
            guard zip(route.path.components, segments).allSatisfy({ $0 ~= $1 }) else { continue }
            let literal = zip(route.path.components, segments).map { $0 == $1 }
            if let current = best, !Self.isMoreSpecific(literal, than: current.literal) { continue }
            best = (literal, route.methods)
        }
        return best?.methods
    }

    /// Whether, at the first segment where they differ, `a` is literal and `b` a parameter.
    static func isMoreSpecific(_ a: [Bool], than b: [Bool]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x }
        return false
    }

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = allowedMethods(path: request.uri.path), !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            var response = APIServer.problem(.methodNotAllowed, code: "api.method_not_allowed", detail: "\(request.method) is not allowed on \(request.uri.path); allowed: \(list)")
            response.headers[.allow] = list
            return response
        }
    }
}

/// Header size and per-client request rate (token bucket keyed by remote address).
/// `/health` is exempt from the rate so a load balancer's probe is never refused, and so is
/// the loopback interface unless `api.rateLimitLoopback` (a local proxy limits its clients).
struct LimitsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let rateLimiter: RateLimiter
    let limitLoopback: Bool

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        var headerBytes = 0
        for field in request.headers { headerBytes += field.name.rawName.utf8.count + field.value.utf8.count }
        guard headerBytes <= APIServer.headerBytesMax else {
            throw APIProblem(431, "api.headers_too_large", "the request's header fields hold \(headerBytes) bytes; at most \(APIServer.headerBytesMax) are allowed")
        }
        if request.uri.path != "/health", limitLoopback || !context.isLoopback, let wait = rateLimiter.take(client: context.clientKey) {
            throw APIProblem(429, "api.rate_limited", "too many requests from \(context.clientKey); retry after \(wait) s", retryAfterSeconds: wait)
        }
        return try await next(request, context)
    }
}

struct ProblemDocument: Codable {
    var type: String
    var title: String
    var status: Int
    var code: String
    var detail: String
}

struct HealthResponse: Codable { var status: String }

struct StatusResponse: Codable {
    struct ValidatorEntry: Codable {
        var name: String
        var organisation: String
        var publicKey: String
        var votingPower: UInt64
        /// Whether the validator signed the certificate that committed the tip (nil at genesis).
        var voting: Bool?
    }

    var chainId: String
    var height: UInt64
    var tipHash: String
    var stateRoot: String
    var timestamp: String
    var pendingTransactions: Int
    var validators: [ValidatorEntry]
    /// The validator key of the node that answered.
    var node: String
    /// Present while the node syncs blocks it misses (it then refuses submissions with
    /// `node.catching_up`): its height and the highest a peer reported.
    var catchingUp: CatchingUpEntry?

    struct CatchingUpEntry: Codable {
        var height: UInt64
        var target: UInt64
    }
}

/// A transaction's state. `code`/`message` only when rejected; `height`/`index`/`blockHash`
/// only when committed.
public struct TransactionStatusResponse: Codable, Sendable {
    public var id: String
    public var status: String
    public var height: UInt64?
    public var index: UInt32?
    public var blockHash: String?
    public var code: String?
    public var message: String?

    public init(id: String, status: String, height: UInt64? = nil, index: UInt32? = nil, blockHash: String? = nil, code: String? = nil, message: String? = nil) {
        self.id = id
        self.status = status
        self.height = height
        self.index = index
        self.blockHash = blockHash
        self.code = code
        self.message = message
    }
}

struct HeaderResponse: Codable {
    var hash: String
    var chainId: String
    var height: UInt64
    var previousBlockHash: String
    var timestamp: UInt64
    var transactionsRoot: String
    var stateRoot: String
    var proposer: String
    var validatorSetHash: String
    var lastCommitHash: String

    init(_ header: BlockHeader) {
        hash = header.hash.hex
        chainId = header.chainId
        height = header.height
        previousBlockHash = header.previousBlockHash.hex
        timestamp = header.timestamp
        transactionsRoot = header.transactionsRoot.hex
        stateRoot = header.stateRoot.hex
        proposer = header.proposer.address.description
        validatorSetHash = header.validatorSetHash.hex
        lastCommitHash = header.lastCommitHash.hex
    }
}
