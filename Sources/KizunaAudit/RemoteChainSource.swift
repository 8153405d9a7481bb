public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import KizunaCore
public import KizunaChain

/// A chain read from a node's API with member or auditor credentials, for
/// `kizuna audit --remote` (`docs/audit.md`): `GET /v1/status` for the tip, and
/// `GET /v1/blocks/{height}/canonical` for each block with the certificate that committed it —
/// the export file's per-block record, `u32 length ‖ block ‖ u32 length ‖ certificate`, in
/// the canonical encoding the chain hashes.
///
/// It is a `KizunaChain.ChainSource` (this auditor's module sits beside the chain layer, not in
/// the phone-app wallet library), and `ChainAuditor` verifies what it reads as for a data
/// folder or an export file. Nothing the
/// node sends is trusted: records are decoded strictly (a trailing byte, a length over its
/// maximum, a non-canonical value is an error), answers are size-capped, redirects are
/// refused (the token goes to the address given and nowhere else).
///
/// Reads are synchronous, as the audit is: on a miss the next `prefetchBlocks` blocks are
/// fetched together (concurrent requests on one session). A transient failure — no
/// connection, a timeout, 429, 500, 502, 503, 504 — is retried up to `attempts` times in all,
/// waiting `retryDelayMilliseconds` doubled each time (or the answer's `Retry-After`), never
/// more than `retryDelayMaxMilliseconds`; any other answer fails at once. Every error names the
/// height and the HTTP status.
public struct RemoteChainSource: Sendable {
    public let baseURL: URL
    /// Blocks fetched together when one is missing.
    public var prefetchBlocks = 16
    /// Tries per request, the first included.
    public var attempts = 5
    public var retryDelayMilliseconds: UInt64 = 250
    public var retryDelayMaxMilliseconds: UInt64 = 30_000
    private let token: String?
    private let state: State

    /// The largest record accepted: a block of `BlockLimits.blockBytesMax`, a certificate of
    /// at most 1 MiB, and their two length prefixes.
    public static let recordBytesMax = BlockLimits.blockBytesMax + (1 << 20) + 8
    /// The largest status or problem document accepted.
    static let documentBytesMax = 1 << 20

    /// - Parameters:
    ///   - baseURL: the node's API, e.g. `http://127.0.0.1:8080`.
    ///   - token: a member's or auditor's bearer token (nil: anonymous — the node refuses).
    ///   - requestTimeoutSeconds: the longest silence within one request.
    ///   - transferTimeoutSeconds: the longest one request may take in all.
    public init(baseURL: URL, token: String?, requestTimeoutSeconds: Double = 60, transferTimeoutSeconds: Double = 600) {
        self.baseURL = baseURL
        self.token = token
        self.state = State(requestTimeoutSeconds: requestTimeoutSeconds, transferTimeoutSeconds: transferTimeoutSeconds)
    }

    public var description: String { "remote node \(baseURL.absoluteString)" }

    /// What went wrong reading from the node.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable, Equatable {
            /// The node answered with an HTTP status other than 2xx.
            case status
            /// No HTTP answer: connection refused or lost, a timeout.
            case unreachable
            /// A 2xx answer that is not what was asked for: a record that does not decode,
            /// the wrong content type, too many bytes.
            case badAnswer
        }

        public var kind: Kind
        /// The block being read, or nil for the status request.
        public var height: UInt64?
        /// The HTTP status, or nil when there was no HTTP answer.
        public var statusCode: Int?
        /// The problem document's `code`, when the node sent one.
        public var code: String?
        public var detail: String

        public init(_ kind: Kind, height: UInt64?, statusCode: Int? = nil, code: String? = nil, detail: String) {
            self.kind = kind
            self.height = height
            self.statusCode = statusCode
            self.code = code
            self.detail = detail
        }

        public var description: String {
            let what = height.map { "block \($0)" } ?? "the status"
            var text: String
            switch kind {
            case .status: text = "remote.http_\(statusCode ?? 0): \(what): HTTP \(statusCode ?? 0)"
            case .unreachable: text = "remote.unreachable: \(what)"
            case .badAnswer: text = "remote.bad_answer: \(what)" + (statusCode.map { " (HTTP \($0))" } ?? "")
            }
            if let code { text += " \(code)" }
            text += ": \(detail)"
            if statusCode == 401 || statusCode == 403 {
                text += " (the audit reads blocks with a member's or auditor's token: --token-file or KIZUNA_TOKEN)"
            }
            return text
        }
    }

    // MARK: - The ChainSource methods

    /// The node's height (`GET /v1/status`), read once when the audit starts. A node may claim
    /// any height: every block up to it must then verify.
    public func tipHeight() throws -> UInt64 {
        let answer = try fetch([(0, "v1/status", Self.documentBytesMax)], height: { _ in nil })[0]!.get()
        guard answer.contentType.hasPrefix("application/json"),
              let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
              let height = (object["height"] as? Int).flatMap({ UInt64(exactly: $0) })
        else {
            throw Failure(.badAnswer, height: nil, statusCode: 200, detail: "the answer of GET /v1/status is not a status document with a height")
        }
        state.withLock { $0.tip = height }
        return height
    }

    public func block(at height: UInt64) throws -> Block {
        try decoded(at: height).block
    }

    public func certificate(at height: UInt64) throws -> CommitCertificate {
        try decoded(at: height).certificate
    }

    // MARK: - Records

    /// The raw record of block `height`, as the node sent it (fetched with the blocks after it).
    public func record(at height: UInt64) throws -> [UInt8] {
        if let bytes = state.withLock({ $0.records[height] }) { return bytes }
        let last = state.withLock { cache -> UInt64 in
            cache.records = cache.records.filter { $0.key > height }
            guard let tip = cache.tip, tip >= height else { return height }
            return min(tip, height + UInt64(max(1, prefetchBlocks)) - 1)
        }
        let keys = Array(height...last)
        let answers = try fetch(keys.map { ($0, "v1/blocks/\($0)/canonical", Self.recordBytesMax) }, height: { $0 })
        // Only good records are kept; a block ahead that failed is asked for again when the
        // audit reaches it, so every failure is reported at its own height.
        var records: [UInt64: [UInt8]] = [:]
        for key in keys {
            guard case .success(let answer) = answers[key]! else { continue }
            guard answer.contentType.hasPrefix("application/octet-stream") else {
                if key == height {
                    throw Failure(.badAnswer, height: key, statusCode: answer.statusCode, detail: "the answer is \(answer.contentType.isEmpty ? "without a Content-Type" : answer.contentType), not application/octet-stream")
                }
                continue
            }
            records[key] = answer.body
        }
        state.withLock { $0.records.merge(records) { _, new in new } }
        if case .failure(let failure) = answers[height]! { throw failure }
        return records[height]!
    }

    /// Decodes one record strictly: exactly a block of at most `BlockLimits.blockBytesMax`
    /// bytes and a certificate of at most 1 MiB, each in its canonical encoding, nothing after.
    public static func decodeRecord(_ bytes: [UInt8], height: UInt64) throws -> (block: Block, certificate: CommitCertificate) {
        var decoder = Decoder(bytes)
        let blockBytes: [UInt8]
        let certificateBytes: [UInt8]
        do {
            blockBytes = try decoder.decodeBytes(maxBytes: BlockLimits.blockBytesMax)
            certificateBytes = try decoder.decodeBytes(maxBytes: 1 << 20)
            try decoder.finish()
        } catch {
            throw Failure(.badAnswer, height: height, detail: "the record is not a block and a certificate: \(error)")
        }
        let block: Block
        do {
            block = try Block(canonicalBytes: blockBytes)
        } catch {
            throw Failure(.badAnswer, height: height, detail: "the block does not decode: \(error)")
        }
        do {
            return (block, try CommitCertificate(canonicalBytes: certificateBytes))
        } catch {
            throw Failure(.badAnswer, height: height, detail: "the certificate does not decode: \(error)")
        }
    }

    /// The audit reads the block, then the certificate, of each height: decode once.
    private func decoded(at height: UInt64) throws -> (block: Block, certificate: CommitCertificate) {
        if let last = state.withLock({ $0.decoded }), last.height == height { return (last.block, last.certificate) }
        let value = try Self.decodeRecord(try record(at: height), height: height)
        state.withLock { $0.decoded = (height, value.block, value.certificate) }
        return value
    }

    // MARK: - HTTP

    struct Answer: Sendable {
        var statusCode: Int
        var contentType: String
        var retryAfterSeconds: UInt64?
        var body: [UInt8]
    }

    /// GETs every path concurrently, retrying the transient failures (together, after a
    /// delay) until they succeed or the attempts run out; returns each request's 2xx answer or
    /// its failure. Throws only when the request URL cannot be built.
    private func fetch(_ requests: [(key: UInt64, path: String, limit: Int)], height: (UInt64) -> UInt64?) throws -> [UInt64: Result<Answer, Failure>] {
        var results: [UInt64: Result<Answer, Failure>] = [:]
        var pending = requests
        var delay = retryDelayMilliseconds
        let attempts = max(1, self.attempts)
        for attempt in 1...attempts {
            let outcomes = state.perform(try pending.map { (key: $0.key, request: try request($0.path), limit: $0.limit) })
            var retry: [(key: UInt64, path: String, limit: Int)] = []
            var retryAfter: UInt64 = 0
            for entry in pending {
                let failure: Failure
                switch outcomes[entry.key]! {
                case .answer(let answer) where (200..<300).contains(answer.statusCode):
                    results[entry.key] = .success(answer)
                    continue
                case .answer(let answer):
                    failure = Self.failure(answer, height: height(entry.key))
                    if [429, 500, 502, 503, 504].contains(answer.statusCode) {
                        retry.append(entry)
                        retryAfter = max(retryAfter, (answer.retryAfterSeconds ?? 0) * 1000)
                    }
                case .refused(let detail):
                    failure = Failure(.badAnswer, height: height(entry.key), detail: detail)
                case .unreachable(let detail):
                    failure = Failure(.unreachable, height: height(entry.key), detail: detail)
                    retry.append(entry)
                }
                var counted = failure
                if retry.last?.key == entry.key { counted.detail += " (\(attempt) attempt\(attempt == 1 ? "" : "s"))" }
                results[entry.key] = .failure(counted)
            }
            guard !retry.isEmpty, attempt < attempts else { break }
            pending = retry
            Thread.sleep(forTimeInterval: Double(min(retryDelayMaxMilliseconds, max(delay, retryAfter))) / 1000)
            delay = min(retryDelayMaxMilliseconds, delay * 2)
        }
        return results
    }

    private func request(_ path: String) throws -> URLRequest {
        let base = baseURL.absoluteString.hasSuffix("/") ? baseURL.absoluteString : baseURL.absoluteString + "/"
        guard let url = URL(string: base + path), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw Failure(.unreachable, height: nil, detail: "\(base + path) is not an http(s) URL")
        }
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    private static func failure(_ answer: Answer, height: UInt64?) -> Failure {
        let object = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any]
        let code = object?["code"] as? String
        var detail = object?["detail"] as? String ?? String(decoding: answer.body.prefix(300), as: UTF8.self)
        if detail.isEmpty { detail = HTTPURLResponse.localizedString(forStatusCode: answer.statusCode) }
        if (300..<400).contains(answer.statusCode) { detail = "the node redirects; redirects are not followed (give the final URL): \(detail)" }
        return Failure(.status, height: height, statusCode: answer.statusCode, code: code, detail: detail)
    }
}

// MARK: - The session

extension RemoteChainSource {
    enum Outcome: Sendable {
        case answer(Answer)
        /// No HTTP answer (connection refused or lost, a timeout): worth another try.
        case unreachable(String)
        /// An answer that can never be right (too large): not retried.
        case refused(String)
    }

    /// The prefetched records and the session. A class, so the value type's methods can
    /// cache; the lock guards the cache.
    final class State: @unchecked Sendable {
        struct Cache {
            var tip: UInt64?
            var records: [UInt64: [UInt8]] = [:]
            var decoded: (height: UInt64, block: Block, certificate: CommitCertificate)?
        }

        private let lock = NSLock()
        private var cache = Cache()
        private let session: URLSession
        private let transfers: Transfers

        init(requestTimeoutSeconds: Double, transferTimeoutSeconds: Double) {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = requestTimeoutSeconds
            configuration.timeoutIntervalForResource = transferTimeoutSeconds
            configuration.httpMaximumConnectionsPerHost = 4
            configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
            configuration.urlCache = nil
            configuration.httpCookieStorage = nil
            transfers = Transfers()
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = 1
            session = URLSession(configuration: configuration, delegate: transfers, delegateQueue: queue)
        }

        deinit {
            // The session holds its delegate until it is invalidated.
            session.invalidateAndCancel()
        }

        func withLock<T>(_ body: (inout Cache) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(&cache)
        }

        /// Runs the requests concurrently and waits for all of them.
        func perform(_ requests: [(key: UInt64, request: URLRequest, limit: Int)]) -> [UInt64: Outcome] {
            let group = DispatchGroup()
            var tasks: [(key: UInt64, task: URLSessionDataTask)] = []
            for entry in requests {
                let task = session.dataTask(with: entry.request)
                group.enter()
                transfers.register(task.taskIdentifier, limit: entry.limit, group: group)
                tasks.append((entry.key, task))
            }
            for entry in tasks { entry.task.resume() }
            group.wait()
            var outcomes: [UInt64: Outcome] = [:]
            for entry in tasks { outcomes[entry.key] = transfers.take(entry.task.taskIdentifier) }
            return outcomes
        }
    }

    /// The session's delegate: collects each answer up to its size limit, refuses redirects.
    final class Transfers: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        struct Transfer {
            var limit: Int
            var group: DispatchGroup
            var response: HTTPURLResponse?
            var body: [UInt8] = []
            var tooLarge = false
            var outcome: Outcome?
        }

        private let lock = NSLock()
        private var transfers: [Int: Transfer] = [:]

        func register(_ identifier: Int, limit: Int, group: DispatchGroup) {
            lock.lock()
            transfers[identifier] = Transfer(limit: limit, group: group)
            lock.unlock()
        }

        func take(_ identifier: Int) -> Outcome {
            lock.lock()
            defer { lock.unlock() }
            let outcome = transfers.removeValue(forKey: identifier)?.outcome
            return outcome ?? .unreachable("the request ended without an answer")
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse, completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            lock.lock()
            var allow = true
            if var transfer = transfers[dataTask.taskIdentifier] {
                transfer.response = response as? HTTPURLResponse
                let status = transfer.response?.statusCode ?? 0
                // Only a 2xx answer may be a record; anything else is a small document.
                if !(200..<300).contains(status) { transfer.limit = min(transfer.limit, RemoteChainSource.documentBytesMax) }
                if response.expectedContentLength > Int64(transfer.limit) {
                    transfer.tooLarge = true
                    allow = false
                }
                transfers[dataTask.taskIdentifier] = transfer
            }
            lock.unlock()
            completionHandler(allow ? .allow : .cancel)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.lock()
            var cancel = false
            if var transfer = transfers[dataTask.taskIdentifier], !transfer.tooLarge {
                if transfer.body.count + data.count > transfer.limit {
                    transfer.tooLarge = true
                    transfer.body = []
                    cancel = true
                } else {
                    transfer.body.append(contentsOf: data)
                }
                transfers[dataTask.taskIdentifier] = transfer
            }
            lock.unlock()
            if cancel { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            // Not followed: the redirect itself comes back as the answer.
            completionHandler(nil)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            lock.lock()
            guard var transfer = transfers[task.taskIdentifier] else {
                lock.unlock()
                return
            }
            if transfer.tooLarge {
                transfer.outcome = .refused("the answer is larger than \(transfer.limit) bytes")
            } else if let error {
                transfer.outcome = .unreachable("\(task.originalRequest?.url?.absoluteString ?? "the node") did not answer: \(error.localizedDescription)")
            } else if let response = transfer.response {
                let retryAfter = (response.value(forHTTPHeaderField: "Retry-After")).flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
                transfer.outcome = .answer(Answer(statusCode: response.statusCode, contentType: (response.value(forHTTPHeaderField: "Content-Type") ?? "").lowercased(), retryAfterSeconds: retryAfter, body: transfer.body))
            } else {
                transfer.outcome = .unreachable("the node's answer is not HTTP")
            }
            transfers[task.taskIdentifier] = transfer
            let group = transfer.group
            lock.unlock()
            group.leave()
        }
    }
}

/// A remote chain is a `ChainSource`: the auditor verifies it like a data folder.
extension RemoteChainSource: ChainSource {}
