public import Foundation
#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif
public import KizunaCore

/// A client of a node's HTTP API for wallets and tools (`docs/api.md`).
///
/// ```swift
/// let client = NodeClient(baseURL: URL(string: "http://127.0.0.1:8080")!)
/// let me = client.authenticated(.signed(RequestSigner(chainId: chainId, key: key)))
/// let balance = try await me.account(key.publicKey)          // signed GET
/// let reply = try await client.submit(payment, waitForCommit: true)
/// ```
public struct NodeClient: Sendable {
    /// How the client proves who it is on reads that need it.
    public enum Authentication: Sendable {
        case none
        /// A request signed by an account's key: reads that account's own data.
        case signed(RequestSigner)
        /// A member's or auditor's bearer token: reads everything.
        case bearer(String)
    }

    public let baseURL: URL
    public var authentication: Authentication
    /// The clock signed requests are stamped with (milliseconds since 1970 UTC).
    public var clock: @Sendable () -> UInt64

    public init(baseURL: URL, authentication: Authentication = .none, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }) {
        self.baseURL = baseURL
        self.authentication = authentication
        self.clock = clock
    }

    /// The same client with other credentials.
    public func authenticated(_ authentication: Authentication) -> NodeClient {
        var copy = self
        copy.authentication = authentication
        return copy
    }

    public struct Reply: Sendable {
        public var statusCode: Int
        public var body: Data
        public var headers: [String: String] = [:]

        /// The body as a JSON object, or nil.
        public var json: [String: any Sendable]? {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: any Sendable]
        }

        public var isSuccess: Bool { (200..<300).contains(statusCode) }

        /// The problem document's `code`, for an error reply.
        public var problemCode: String? { json?["code"] as? String }

        /// The body decoded as `T`.
        public func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: body) }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Submits a signed transaction; with `waitForCommit`, the reply comes when it is
    /// committed or rejected.
    public func submit(_ transaction: SignedTransaction, waitForCommit: Bool) async throws -> Reply {
        var components = URLComponents(url: baseURL.appendingPathComponent("v1/transactions"), resolvingAgainstBaseURL: false)!
        if waitForCommit { components.queryItems = [URLQueryItem(name: "wait", value: "commit")] }
        var request = URLRequest(url: components.url!)
        request.httpMethod = "POST"
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(transaction.canonicalBytes)
        request.timeoutInterval = 120
        return try await send(request)
    }

    /// GET `path` (relative, e.g. `v1/status` or `v1/accounts/kz1…/transactions?limit=5`),
    /// with this client's credentials.
    public func get(_ path: String) async throws -> Reply {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        let base = baseURL.absoluteString.hasSuffix("/") ? baseURL.absoluteString : baseURL.absoluteString + "/"
        guard let url = URL(string: base + trimmed) else { throw URLError(.badURL) }
        var request = URLRequest(url: url)
        request.timeoutInterval = 30
        switch authentication {
        case .none:
            break
        case .bearer(let token):
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        case .signed(let signer):
            // The target is the path and query as sent on the request line.
            var target = url.path
            if let query = url.query { target += "?" + query }
            for (name, value) in signer.headers(method: "GET", target: target, timestampMilliseconds: clock()) {
                request.setValue(value, forHTTPHeaderField: name)
            }
        }
        return try await send(request)
    }

    // MARK: - Endpoints

    public func status() async throws -> Reply { try await get("v1/status") }
    public func transaction(_ id: Hash) async throws -> Reply { try await get("v1/transactions/\(id.hex)") }
    public func header(at height: UInt64) async throws -> Reply { try await get("v1/headers/\(height)") }
    /// A full block: needs member or auditor credentials.
    public func block(at height: UInt64?) async throws -> Reply { try await get("v1/blocks/\(height.map(String.init) ?? "latest")") }
    /// Role, nonce, balances and lots: needs the account's signature or member/auditor credentials.
    public func account(_ key: PublicKey) async throws -> Reply { try await get("v1/accounts/\(key.address)") }
    /// A page of history, newest first, of exactly `limit` transactions unless it reaches the
    /// account's first; pass the previous page's `nextBefore` (`height:index`) as `before`
    /// (a plain block height also works: every transaction below that block).
    public func history(_ key: PublicKey, limit: Int = 20, before: String? = nil) async throws -> Reply {
        try await get("v1/accounts/\(key.address)/transactions?limit=\(limit)" + (before.map { "&before=\($0)" } ?? ""))
    }
    public func supply(height: UInt64? = nil) async throws -> Reply { try await get("v1/supply" + (height.map { "?height=\($0)" } ?? "")) }
    public func programs() async throws -> Reply { try await get("v1/programs") }
    public func program(_ id: UInt64) async throws -> Reply { try await get("v1/programs/\(id)") }
    /// The unused-balance report for a base date `YYYY-MM-DD` (31 March or 30 September).
    public func unusedBalance(date: String) async throws -> Reply { try await get("v1/reports/unused-balance?date=\(date)") }
    public func settlements(merchant: PublicKey) async throws -> Reply { try await get("v1/reports/settlements/\(merchant.address)") }
    /// An invoice with its status: only its issuer and payer, each with a signed request.
    public func invoice(_ id: Hash) async throws -> Reply { try await get("v1/invoices/\(id.hex)") }
    /// The invoices an account issued or must pay: only with the account's own signature.
    public func invoices(of key: PublicKey, limit: Int = 20) async throws -> Reply { try await get("v1/accounts/\(key.address)/invoices?limit=\(limit)") }
    /// A funder's settlement file (CSV) for a Japan-time day `YYYY-MM-DD`.
    public func settlementFile(funder: PublicKey, date: String) async throws -> Reply { try await get("v1/reports/settlement-file?funder=\(funder.address)&date=\(date)") }

    /// The account's next nonce, read with a signed request (0 if it is not registered):
    /// after the transactions the node holds pending for it (`pendingNonce`), so that a new
    /// transaction follows them instead of replacing one (docs/api.md §1).
    public func nextNonce(of key: PublicKey) async throws -> UInt64 {
        let reply = try await account(key)
        if reply.statusCode == 404 { return 0 }
        guard reply.isSuccess, let nonce = reply.json?["nonce"] as? Int else {
            throw ClientError(reply: reply)
        }
        return UInt64((reply.json?["pendingNonce"] as? Int) ?? nonce)
    }

    /// A reply that was not what the caller needed.
    public struct ClientError: Error, CustomStringConvertible, Sendable {
        public let reply: Reply
        public init(reply: Reply) { self.reply = reply }
        public var description: String { "HTTP \(reply.statusCode): \(reply.text)" }
    }

    private func send(_ request: URLRequest) async throws -> Reply {
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return Reply(statusCode: http?.statusCode ?? 0, body: data, headers: headers)
    }
}
