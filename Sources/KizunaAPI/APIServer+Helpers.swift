public import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger
import Logging
import NIOCore
import HTTPTypes
import Foundation

/// Helpers of the routes: the caller's identity, JSON and problem answers, path and query parsing.
extension APIServer {
    // MARK: - Helpers

    /// Who the request proves to be (GET requests sign an empty body).
    static func caller(_ request: Request, _ shared: Shared) throws(APIProblem) -> Caller {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
        return try shared.access.authenticate(
            authorization: request.headers[.authorization],
            address: header(RequestSignatureScheme.addressHeader),
            timestamp: header(RequestSignatureScheme.timestampHeader),
            signature: header(RequestSignatureScheme.signatureHeader),
            method: request.method.rawValue,
            target: request.uri.string,
            body: []
        )
    }

    @discardableResult
    static func requirePrivileged(_ request: Request, _ shared: Shared) throws(APIProblem) -> Caller {
        let caller = try caller(request, shared)
        switch caller {
        case .member, .auditor: return caller
        case .anonymous: throw APIProblem(401, "auth.required", "full blocks are for consortium members and auditors (Authorization: Bearer <token>); headers are open at /v1/headers/{height}")
        case .account: throw APIProblem(403, "auth.forbidden", "full blocks are for consortium members and auditors; headers are open at /v1/headers/{height}")
        }
    }

    /// Checks that the caller may read `account`'s own data.
    static func requireReader(of account: PublicKey, _ request: Request, _ shared: Shared) throws(APIProblem) {
        let caller = try caller(request, shared)
        guard caller.mayRead(account) else {
            if caller == .anonymous {
                throw APIProblem(401, "auth.required", "an account's balance and history are readable only with a request signed by its key (Kizuna-Address, Kizuna-Timestamp, Kizuna-Signature) or with member/auditor credentials")
            }
            throw APIProblem(403, "auth.forbidden", "this caller may not read account \(account.address)")
        }
    }

    static func heightParameter(_ context: APIRequestContext) throws(APIProblem) -> UInt64 {
        guard let text = context.parameters.get("height"), let height = UInt64(text) else {
            throw APIProblem(400, "api.bad_height", "the height must be a non-negative integer")
        }
        return height
    }

    static func addressParameter(_ context: APIRequestContext, _ name: String) throws(APIProblem) -> PublicKey {
        let text = context.parameters.get(name) ?? ""
        do {
            return try Address(parsing: text).publicKey
        } catch {
            throw APIProblem(400, "api.bad_address", "\(error)")
        }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The status's reason phrase for a problem's `title`. A status made from a bare code
    /// (`HTTPResponse.Status(code:)`, as access-control refusals are) carries an empty phrase,
    /// so the standard one is looked up (RFC 9110 §15, RFC 6585 for 429).
    static func title(of status: HTTPResponse.Status) -> String {
        if !status.reasonPhrase.isEmpty { return status.reasonPhrase }
        switch status.code {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 425: return "Too Early"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        default: return "HTTP \(status.code)"
        }
    }

    /// An RFC 9457 problem document.
    static func problem(_ status: HTTPResponse.Status, code: String, detail: String, retryAfterSeconds: Int? = nil) -> Response {
        let document = ProblemDocument(type: "urn:kizuna:problem:\(code)", title: title(of: status), status: Int(status.code), code: code, detail: detail)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(document)) ?? Data()
        var response = Response(status: status, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        if let retryAfterSeconds { response.headers[.retryAfter] = "\(retryAfterSeconds)" }
        return response
    }
}
