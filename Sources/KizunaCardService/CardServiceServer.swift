import Foundation
import KizunaCore
import KizunaWallet
import KizunaNode
import KizunaAPI
public import Logging
import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle

/// The card custodian's HTTP API (`docs/cards.md` §5) and its process (`kizuna card-service`).
public enum CardServiceServer {
    /// The largest request body accepted.
    static let bodyBytesMax = 4_096

    /// The routes. Every request is signed (`RequestSignatureScheme`): payments by a
    /// merchant's terminal, card administration by the registrar.
    public static func router(custodian: CardCustodian, logger: Logger) -> Router<APIRequestContext> {
        let access = AccessControl(chainId: custodian.genesis.chainId, access: NodeConfiguration.Access(), clock: custodian.clock)
        let registrar = custodian.genesis.authorities.registrar
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ProblemMiddleware(logger: logger))
        router.get("/health") { _, _ in try json(["status": "ok"]) }

        /// The signer of a request and its body (the signature covers both).
        @Sendable func signed(_ request: Request) async throws -> (key: PublicKey, body: [UInt8]) {
            let buffer = try await request.body.collect(upTo: bodyBytesMax)
            let body = Array(buffer.readableBytesView)
            func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
            let caller = try access.authenticate(
                authorization: nil,
                address: header(RequestSignatureScheme.addressHeader),
                timestamp: header(RequestSignatureScheme.timestampHeader),
                signature: header(RequestSignatureScheme.signatureHeader),
                method: request.method.rawValue, target: request.uri.string, body: body
            )
            guard case .account(let key) = caller else {
                throw APIProblem(401, "auth.required", "sign the request with your key (\(RequestSignatureScheme.addressHeader), \(RequestSignatureScheme.timestampHeader), \(RequestSignatureScheme.signatureHeader); docs/api.md §3)")
            }
            return (key, body)
        }
        @Sendable func asRegistrar(_ request: Request) async throws -> [UInt8] {
            let (key, body) = try await signed(request)
            guard key == registrar else {
                throw APIProblem(403, CardServiceErrorCode.notRegistrar.rawValue, "card administration is the registrar's; \(key.address) is not the registrar of chain '\(custodian.genesis.chainId)'")
            }
            return body
        }
        @Sendable func cardId(_ context: APIRequestContext) throws -> CardId {
            guard let text = context.parameters.get("id"), let id = CardId(text) else {
                throw APIProblem(400, CardServiceErrorCode.badRequest.rawValue, "a card id is 32 lower-case hex digits")
            }
            return id
        }

        router.post("/v1/payments") { request, _ in
            let (merchant, body) = try await signed(request)
            let payment = try decode(CardServiceMessages.PaymentRequest.self, body)
            return try json(try await custodian.pay(payment, merchant: merchant, body: body))
        }
        router.post("/v1/cards") { request, _ in
            let issue = try decode(CardServiceMessages.IssueRequest.self, try await asRegistrar(request))
            var response = try json(try await custodian.issue(pin: issue.pin))
            response.status = .created
            return response
        }
        router.get("/v1/cards/:id") { request, context in
            _ = try await asRegistrar(request)
            return try json(try custodian.view(try cardId(context)))
        }
        router.post("/v1/cards/:id/pin") { request, context in
            let change = try decode(CardServiceMessages.PinRequest.self, try await asRegistrar(request))
            return try json(try await custodian.setPin(try cardId(context), pin: change.pin))
        }
        router.post("/v1/cards/:id/unlock") { request, context in
            _ = try await asRegistrar(request)
            return try json(try await custodian.unlock(try cardId(context)))
        }
        return router
    }

    /// The body as the route's JSON, or 400 `card.bad_request`.
    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw APIProblem(400, CardServiceErrorCode.badRequest.rawValue, "the body is not a valid \(T.self): \(error)")
        }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Runs the service until SIGTERM or SIGINT: opens the store and vault, settles the
    /// payments a previous run left pending, then serves.
    public static func run(configuration: CardServiceConfiguration, passphrase: String, logger: Logger) async throws {
        let genesis = try Genesis.load(path: configuration.genesisFile)
        // Before the custodian reads a clock: its per-day totals must be of the nodes' day.
        if let offset = try DevelopmentClock.adopt(environment: ProcessInfo.processInfo.environment, chainId: genesis.chainId) {
            logger.warning("the clock of this LOCAL chain's card custodian is shifted for a test", metadata: ["offsetMilliseconds": "\(offset)"])
        }
        let metrics = CardServiceMetrics()
        let custodian = try CardCustodian(configuration: configuration, genesis: genesis, passphrase: passphrase, token: try configuration.token(), metrics: metrics, logger: logger)
        defer { custodian.close() }
        logger.notice("card custodian starting", metadata: ["chain": "\(genesis.chainId)", "data": "\(configuration.dataDirectory)", "node": "\(configuration.nodeURL)"])
        await custodian.settleAllPending()
        var services: [any Service] = []
        if let listen = configuration.metricsListen, let (host, port) = NodeConfiguration.hostAndPort(listen) {
            let metricsRouter = Router()
            metricsRouter.get("/metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
            }
            services.append(Application(router: metricsRouter, configuration: .init(address: .hostname(host, port: port), serverName: "kizuna-card-metrics"),
                                        onServerRunning: { _ in logger.notice("metrics listening", metadata: ["url": "http://\(host):\(port)/metrics"]) }, logger: logger))
        }
        let (host, port) = (configuration.host, configuration.port)
        let application = Application(
            router: router(custodian: custodian, logger: logger),
            configuration: .init(address: .hostname(host, port: port), serverName: "kizuna-card-service"),
            services: services,
            onServerRunning: { _ in logger.notice("card service listening", metadata: ["url": "http://\(host):\(port)/health"]) },
            logger: logger
        )
        try await application.runService()
        logger.notice("card custodian stopped")
    }
}
