public import KizunaCore
import KizunaNode
import Foundation
import Synchronization

/// Who a request proved to be (design §3: what a caller may read depends on it).
public enum Caller: Sendable, Equatable {
    /// No credentials: only open data.
    case anonymous
    /// A request signed by an account's key: that account's own data.
    case account(PublicKey)
    /// A consortium member's bearer token: everything.
    case member(name: String)
    /// An auditor's bearer token: everything.
    case auditor(name: String)

    /// Members and auditors read every account and full blocks.
    public var isPrivileged: Bool {
        switch self {
        case .member, .auditor: true
        case .anonymous, .account: false
        }
    }

    /// May this caller read `account`'s balance, history and receipts?
    public func mayRead(_ account: PublicKey) -> Bool {
        switch self {
        case .member, .auditor: true
        case .account(let key): key == account
        case .anonymous: false
        }
    }
}

/// A refusal with an RFC 9457 problem document: an HTTP status, a stable code, a detail,
/// and for 429/503 the seconds to wait.
public struct APIProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var detail: String
    public var retryAfterSeconds: Int?

    public init(_ status: Int, _ code: String, _ detail: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(code): \(detail)" }
    public static func == (lhs: APIProblem, rhs: APIProblem) -> Bool { lhs.code == rhs.code }
}

/// Checks credentials: bearer tokens against the configured SHA-256 digests, signed requests
/// against the account key, the clock window and the replay cache.
public final class AccessControl: Sendable {
    public let chainId: String
    let tokens: [Hash: (name: String, role: NodeConfiguration.Access.Role)]
    let skewMilliseconds: UInt64
    let replays: ReplayCache
    let clock: @Sendable () -> UInt64

    public init(chainId: String, access: NodeConfiguration.Access, clock: @escaping @Sendable () -> UInt64 = wallClockMilliseconds) {
        self.chainId = chainId
        var tokens: [Hash: (name: String, role: NodeConfiguration.Access.Role)] = [:]
        for credential in access.credentials {
            if let digest = Hash(hex: credential.tokenSha256.lowercased()) { tokens[digest] = (credential.name, credential.role) }
        }
        self.tokens = tokens
        self.skewMilliseconds = access.signedRequestSkewMilliseconds
        self.replays = ReplayCache(entriesMax: access.replayCacheEntriesMax)
        self.clock = clock
    }

    /// The caller a request proves to be.
    /// - Parameters:
    ///   - authorization: the `Authorization` header (`Bearer <token>`), if any.
    ///   - address, timestamp, signature: the three `Kizuna-*` headers, if any.
    ///   - method, target, body: what the signature covers.
    public func authenticate(authorization: String?, address: String?, timestamp: String?, signature: String?, method: String, target: String, body: [UInt8]) throws(APIProblem) -> Caller {
        if let authorization {
            guard authorization.hasPrefix("Bearer "), case let token = authorization.dropFirst("Bearer ".count), !token.isEmpty else {
                throw APIProblem(401, "auth.bad_token", "the Authorization header must be 'Bearer <token>'")
            }
            guard let entry = tokens[Hash.sha256(Array(token.utf8))] else {
                throw APIProblem(401, "auth.bad_token", "the bearer token is not one of this node's member or auditor credentials")
            }
            return entry.role == .member ? .member(name: entry.name) : .auditor(name: entry.name)
        }
        if address == nil && timestamp == nil && signature == nil { return .anonymous }
        guard let address, let timestamp, let signature else {
            throw APIProblem(401, "auth.incomplete_signature", "a signed request carries all of \(RequestSignatureScheme.addressHeader), \(RequestSignatureScheme.timestampHeader) and \(RequestSignatureScheme.signatureHeader)")
        }
        let key: PublicKey
        do {
            key = try Address(parsing: address).publicKey
        } catch {
            throw APIProblem(401, "auth.bad_address", "\(RequestSignatureScheme.addressHeader): \(error)")
        }
        guard let milliseconds = UInt64(timestamp) else {
            throw APIProblem(401, "auth.bad_timestamp", "\(RequestSignatureScheme.timestampHeader) is milliseconds since 1970 UTC, as a decimal integer")
        }
        let now = clock()
        let distance = now > milliseconds ? now - milliseconds : milliseconds - now
        guard distance <= skewMilliseconds else {
            throw APIProblem(401, "auth.stale_timestamp", "the request was signed at \(milliseconds), \(distance) ms from this node's clock (\(now)); at most \(skewMilliseconds) ms are allowed")
        }
        guard let bytes = [UInt8](hex: signature), let parsed = Signature(bytes) else {
            throw APIProblem(401, "auth.bad_signature", "\(RequestSignatureScheme.signatureHeader) is 128 hex digits (an Ed25519 signature)")
        }
        let message = RequestSignatureScheme.message(chainId: chainId, method: method, target: target, timestampMilliseconds: milliseconds, body: body)
        guard key.isValidSignature(parsed, for: message) else {
            throw APIProblem(401, "auth.bad_signature", "the signature does not verify for \(address) over this method, target, timestamp and body")
        }
        // Checked after the signature, so nobody can fill the cache with garbage.
        try replays.insert(Hash.sha256(parsed.bytes), at: now, expiresAt: milliseconds + skewMilliseconds)
        return .account(key)
    }
}

/// The signatures of signed requests seen within the clock window, so each is used once.
/// Bounded: expired entries are dropped first; if it is still full, requests are refused
/// with 503 rather than forgetting a live entry (which would let a replay through).
final class ReplayCache: Sendable {
    private struct State {
        var seen: [Hash: UInt64] = [:]
        /// (expiry, signature digest), in insertion order; expiries are almost sorted.
        var order: [(UInt64, Hash)] = []
        var head = 0
    }

    let entriesMax: Int
    private let state = Mutex(State())

    init(entriesMax: Int) { self.entriesMax = entriesMax }

    var count: Int { state.withLock { $0.seen.count } }

    func insert(_ digest: Hash, at now: UInt64, expiresAt: UInt64) throws(APIProblem) {
        let result: APIProblem? = state.withLock { state in
            if let expiry = state.seen[digest], expiry >= now {
                return APIProblem(401, "auth.replayed", "this signed request was already used; sign each request with a fresh timestamp")
            }
            // Drop expired entries from the front (amortised O(1)).
            while state.head < state.order.count, state.order[state.head].0 < now {
                let (expiry, old) = state.order[state.head]
                if state.seen[old] == expiry { state.seen[old] = nil }
                state.head += 1
            }
            if state.head > 4096 && state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            if state.seen.count >= entriesMax {
                // Entries further back in the list may have expired out of order; sweep once.
                state.seen = state.seen.filter { $0.value >= now }
                if state.seen.count >= entriesMax {
                    return APIProblem(503, "api.busy", "too many signed requests in the last minute; retry shortly", retryAfterSeconds: 1)
                }
            }
            state.seen[digest] = expiresAt
            state.order.append((expiresAt, digest))
            return nil
        }
        if let result { throw result }
    }
}

/// A token bucket per client (remote address): `ratePerSecond` sustained, `burst` at once.
/// The map is bounded: when full, buckets that have refilled completely (idle clients) are
/// forgotten; if none has, the new client is refused (never an unbounded map).
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updatedNanoseconds: UInt64
    }

    let ratePerSecond: Double
    let burst: Double
    let clientsMax: Int
    private let buckets = Mutex([String: Bucket]())

    /// The limiter's clock in nanoseconds; injected so tests never depend on how fast the
    /// machine runs them.
    let clockNanoseconds: @Sendable () -> UInt64

    public init(ratePerSecond: Int, burst: Int, clientsMax: Int, clockNanoseconds: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.ratePerSecond = Double(ratePerSecond)
        self.burst = Double(max(burst, 1))
        self.clientsMax = clientsMax
        self.clockNanoseconds = clockNanoseconds
    }

    /// Takes one token for `client` at the limiter's clock; nil if allowed, else the seconds to wait.
    public func take(client: String) -> Int? {
        take(client: client, nowNanoseconds: clockNanoseconds())
    }

    /// Takes one token for `client` at `nowNanoseconds`; nil if allowed, else the seconds to wait.
    public func take(client: String, nowNanoseconds: UInt64) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[client] ?? Bucket(tokens: burst, updatedNanoseconds: nowNanoseconds)
            let elapsed = Double(nowNanoseconds &- bucket.updatedNanoseconds) / 1e9
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * ratePerSecond)
            bucket.updatedNanoseconds = nowNanoseconds
            if bucket.tokens < 1 {
                buckets[client] = bucket
                return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
            }
            if buckets[client] == nil && buckets.count >= clientsMax {
                buckets = buckets.filter { _, other in
                    other.tokens + Double(nowNanoseconds &- other.updatedNanoseconds) / 1e9 * ratePerSecond < burst
                }
                if buckets.count >= clientsMax { return 1 }
            }
            bucket.tokens -= 1
            buckets[client] = bucket
            return nil
        }
    }

    var clientCount: Int { buckets.withLock { $0.count } }
}

/// Limits concurrent expensive queries (replays to an earlier height, chain-wide
/// aggregates): past the limit the caller gets 503 with `Retry-After`, never a queue.
final class QueryGate: Sendable {
    let limit: Int
    private let running = Mutex(0)

    init(limit: Int) { self.limit = limit }

    func run<T>(_ work: () throws -> T) throws -> T {
        let admitted = running.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw APIProblem(503, "api.busy", "another historical query is running; retry shortly", retryAfterSeconds: 2)
        }
        defer { running.withLock { $0 -= 1 } }
        return try work()
    }
}
