#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports on 127.0.0.1 for the processes a benchmark or a test starts on this machine
/// (validators, observers, the card service): the one place that decides which ports those are.
///
/// A port is chosen at random below the kernel's ephemeral range (32768–60999 on Linux), not
/// with `bind(port: 0)`: a port the kernel hands out for port 0 is an ephemeral one, and it may
/// be handed out again as the source port of another connection (a dial, a node redialing a
/// peer that is down) before the new server binds it — the bind then fails with "Address
/// already in use" (seen in CI), or a node restarted on that port cannot listen.
public enum LocalPorts {
    /// The range ports are chosen from: registered ports below the ephemeral range.
    public static let range = 20_000..<32_768
    /// Random draws before giving up (the range holds 12,768 ports).
    public static let attemptsMax = 500

    /// A port outside `taken` that was free a moment ago; it is added to `taken`, so calls made
    /// before any server binds never return the same port twice.
    public static func freePort(avoiding taken: inout Set<Int>) throws(LocalPortsError) -> Int {
        for _ in 0..<attemptsMax {
            let port = Int.random(in: range)
            guard taken.insert(port).inserted else { continue }
            if isFree(port) { return port }
        }
        throw LocalPortsError()
    }

    /// True if a TCP socket can bind 127.0.0.1:`port` now.
    public static func isFree(_ port: Int) -> Bool {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return withLoopbackAddress(port: port) { bind(descriptor, $0, $1) } == 0
    }

    /// Calls `body` with the socket address 127.0.0.1:`port` and its length (for `bind` and
    /// `connect`).
    public static func withLoopbackAddress<Result>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// No free port found in `LocalPorts.range`.
public struct LocalPortsError: Error, CustomStringConvertible {
    public init() {}
    public var description: String {
        "no free port on 127.0.0.1 in \(LocalPorts.range.lowerBound)–\(LocalPorts.range.upperBound - 1) after \(LocalPorts.attemptsMax) tries"
    }
}
