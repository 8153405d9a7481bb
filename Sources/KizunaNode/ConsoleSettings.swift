/// The web console's settings (`[console]`, docs/console.md and docs/operations.md).
extension NodeConfiguration {
    public struct Console: Codable, Sendable, Equatable {
        /// Whether the node serves the console at `/console` on its API port.
        public var enabled: Bool
        /// Whether the session cookie carries `Secure` (set it when the console is reached over
        /// HTTPS, e.g. behind a TLS-terminating proxy; a browser then never sends the cookie
        /// over plain HTTP).
        public var secureCookie: Bool
        /// How long a sign-in lasts without use.
        public var sessionMinutes: Int
        /// Sessions held at once; past it the oldest is signed out.
        public var sessionsMax: Int

        public init(enabled: Bool = true, secureCookie: Bool = false, sessionMinutes: Int = 30, sessionsMax: Int = 1000) {
            self.enabled = enabled
            self.secureCookie = secureCookie
            self.sessionMinutes = sessionMinutes
            self.sessionsMax = sessionsMax
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case enabled, secureCookie, sessionMinutes, sessionsMax }
    }
}
