public import Hummingbird
public import KizunaCore
import KizunaChain
import KizunaLedger
import Foundation

/// The node's HTTP API (the temporary submission path of the single-node chain; the API
/// issue extends it). Errors are RFC 9457 problem documents carrying the stable codes.
public enum APIServer {
    /// Builds the router for `node`.
    public static func router(node: Node) -> Router<BasicRequestContext> {
        let router = Router()
        let bodyLimit = node.configuration.requestBodyBytesMax
        let chainId = node.genesis.chainId

        router.get("/health") { _, _ in
            try json(HealthResponse(status: "ok"))
        }

        router.get("/v1/status") { _, _ in
            let tip = try node.tip()
            return try json(StatusResponse(
                chainId: chainId,
                height: tip.height,
                tipHash: tip.hash.hex,
                stateRoot: tip.stateRoot.hex,
                timestamp: CivilTime.formatJapan(milliseconds: tip.timestamp),
                pendingTransactions: await node.pendingCount,
                validators: node.genesis.validators.validators.map { .init(name: $0.name, organisation: $0.organisation, publicKey: $0.publicKey.address.description, votingPower: $0.votingPower) }
            ))
        }

        router.get("/v1/headers/:height") { _, context in
            guard let text = context.parameters.get("height"), let height = UInt64(text) else {
                return problem(.badRequest, code: "api.bad_height", detail: "the height must be a non-negative integer")
            }
            guard let header = try node.header(at: height) else {
                return problem(.notFound, code: "api.no_such_block", detail: "there is no block at height \(height) yet")
            }
            return try json(HeaderResponse(header))
        }

        router.post("/v1/transactions") { request, context in
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: bodyLimit)
            } catch {
                return problem(.contentTooLarge, code: TransactionError.Code.tooLarge.rawValue, detail: "the body exceeds \(bodyLimit) bytes")
            }
            let bytes = Array(buffer.readableBytesView)
            let signed: SignedTransaction
            do {
                signed = try SignedTransaction(untrusted: transactionBytes(from: bytes, contentType: request.headers[.contentType]))
            } catch let error as DecodingError {
                return problem(.badRequest, code: TransactionError.Code.malformed.rawValue, detail: "\(error)")
            } catch {
                return problem(.badRequest, code: TransactionError.Code.malformed.rawValue, detail: "\(error)")
            }
            let verified: VerifiedTransaction
            do throws(TransactionError) {
                verified = try signed.verified(chainId: chainId)
            } catch {
                return problem(.unprocessableContent, code: error.code.rawValue, detail: error.message)
            }
            do throws(TransactionError) {
                try await node.submit(verified)
            } catch {
                let status: HTTPResponse.Status = (error.code == .mempoolFull || error.code == .accountQueueFull) ? .serviceUnavailable : (error.code == .duplicate ? .conflict : .unprocessableContent)
                var response = problem(status, code: error.code.rawValue, detail: error.message)
                if status == .serviceUnavailable { response.headers[.retryAfter] = "1" }
                return response
            }
            if request.uri.queryParameters.get("wait") == "commit" {
                let outcome = await node.waitForOutcome(of: verified.id, milliseconds: node.configuration.commitWaitMilliseconds)
                return try statusResponse(id: verified.id, outcome)
            }
            var response = try json(TransactionStatusResponse(id: verified.id.hex, status: "pending"))
            response.status = .accepted
            return response
        }

        router.get("/v1/transactions/:id") { _, context in
            guard let text = context.parameters.get("id"), let id = Hash(hex: text) else {
                return problem(.badRequest, code: "api.bad_transaction_id", detail: "a transaction id is 64 hex digits")
            }
            return try statusResponse(id: id, await node.status(of: id))
        }
        return router
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
        case .committed(let receipt, let blockHash):
            return try json(TransactionStatusResponse(id: id.hex, status: "committed", height: receipt.height, index: receipt.index, blockHash: blockHash.hex))
        case .rejected(let error):
            var response = try json(TransactionStatusResponse(id: id.hex, status: "rejected", code: error.code.rawValue, message: error.message))
            response.status = .unprocessableContent
            return response
        case .unknown:
            return problem(.notFound, code: "api.unknown_transaction", detail: "this node has no record of transaction \(id)")
        }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An RFC 9457 problem document.
    static func problem(_ status: HTTPResponse.Status, code: String, detail: String) -> Response {
        let document = ProblemDocument(type: "urn:kizuna:problem:\(code)", title: status.reasonPhrase, status: Int(status.code), code: code, detail: detail)
        let data = (try? JSONEncoder().encode(document)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
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
    }

    var chainId: String
    var height: UInt64
    var tipHash: String
    var stateRoot: String
    var timestamp: String
    var pendingTransactions: Int
    var validators: [ValidatorEntry]
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
