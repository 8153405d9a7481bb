public import Foundation
#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif
public import KizunaCore

/// A minimal client of a node's HTTP API for wallets and tools.
public struct NodeClient: Sendable {
    public let baseURL: URL

    public init(baseURL: URL) {
        self.baseURL = baseURL
    }

    public struct Reply: Sendable {
        public var statusCode: Int
        public var body: Data

        /// The body as a JSON object, or nil.
        public var json: [String: any Sendable]? {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: any Sendable]
        }
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

    public func get(_ path: String) async throws -> Reply {
        var request = URLRequest(url: baseURL.appendingPathComponent(path))
        request.timeoutInterval = 30
        return try await send(request)
    }

    private func send(_ request: URLRequest) async throws -> Reply {
        let (data, response) = try await URLSession.shared.data(for: request)
        return Reply(statusCode: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }
}
