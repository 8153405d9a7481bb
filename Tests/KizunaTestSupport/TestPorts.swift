#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// Free TCP ports on 127.0.0.1 for tests that start servers (peer networks, node processes),
/// shared by KizunaNetworkTests and KizunaNodeTests.
///
/// A port is chosen at random below the kernel's ephemeral range (32768–60999 on Linux), not
/// with `bind(port: 0)`: a port the kernel hands out for port 0 is an ephemeral one, and it may
/// be handed out again as the source port of another connection (another test's dial, a node
/// redialing a peer that is down) before the test's server binds it — the bind then fails with
/// "Address already in use" (seen in CI), or a node restarted on that port cannot listen. A
/// port is given out once per test process, so two calls made before either server binds
/// never return the same port.
public enum TestPorts {
    /// The range ports are chosen from: registered ports below the ephemeral range.
    public static let range = 20_000..<32_768
    private static let given = NIOLockedValueBox<Set<Int>>([])

    /// A port that no other call in this process returned and that was free a moment ago.
    public static func freePort() throws -> Int {
        for _ in 0..<500 {
            let port = Int.random(in: range)
            guard given.withLockedValue({ $0.insert(port).inserted }) else { continue }
            if isFree(port) { return port }
        }
        throw TestPortsError()
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
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

public struct TestPortsError: Error, CustomStringConvertible {
    public var description: String { "no free port in \(TestPorts.range.lowerBound)–\(TestPorts.range.upperBound - 1) after 500 tries" }
}
