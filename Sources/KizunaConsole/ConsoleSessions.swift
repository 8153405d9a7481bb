import Logging
import Foundation
import KizunaCore
import KizunaNode
import Synchronization

/// Who signed in to the console: a member or an auditor credential of the node's `[access]`
/// table (the same bearer tokens the API accepts).
public struct ConsoleUser: Sendable, Equatable {
    public var name: String
    public var role: NodeConfiguration.Access.Role
}

/// The console's sign-ins, in memory: a random session id (the cookie) maps to the user, the
/// session's anti-forgery token and its expiry. Bounded: past `sessionsMax` the session that
/// expires first is dropped. A restart signs everyone out.
final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        var user: ConsoleUser
        var csrf: String
        var expiresAt: UInt64
    }

    let lifetimeMilliseconds: UInt64
    let sessionsMax: Int
    private let sessions = Mutex([String: Session]())

    init(lifetimeMinutes: Int, sessionsMax: Int) {
        lifetimeMilliseconds = UInt64(lifetimeMinutes) * 60_000
        self.sessionsMax = sessionsMax
    }

    /// A new session for `user`; returns its id and anti-forgery token.
    func create(_ user: ConsoleUser, now: UInt64) -> (id: String, csrf: String) {
        let id = Self.randomToken(), csrf = Self.randomToken()
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expiresAt > now }
            if sessions.count >= sessionsMax, let oldest = sessions.min(by: { ($0.value.expiresAt, $0.key) < ($1.value.expiresAt, $1.key) })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = Session(user: user, csrf: csrf, expiresAt: now + lifetimeMilliseconds)
        }
        return (id, csrf)
    }

    /// The live session `id` names, its expiry moved forward; nil if there is none.
    func session(_ id: String, now: UInt64) -> Session? {
        sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard session.expiresAt > now else {
                sessions[id] = nil
                return nil
            }
            session.expiresAt = now + lifetimeMilliseconds
            sessions[id] = session
            return session
        }
    }

    func remove(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { sessions.withLock { $0.count } }

    /// 32 bytes from the system's cryptographic generator, as hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
    }

    /// Compares two secrets in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

extension NodeConfiguration.Access {
    /// The credential whose token this is (by its SHA-256, as the API checks a bearer token).
    func credential(forToken token: String) -> Credential? {
        guard !token.isEmpty else { return nil }
        let digest = Hash.sha256(Array(token.utf8)).hex
        return credentials.first { ConsoleSessions.same($0.tokenSha256.lowercased(), digest) }
    }
}
