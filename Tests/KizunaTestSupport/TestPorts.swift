import KizunaNetwork
import NIOConcurrencyHelpers

/// Free TCP ports on 127.0.0.1 for tests that start servers (peer networks, node processes),
/// shared by KizunaNetworkTests and KizunaNodeTests: `LocalPorts` (below the ephemeral range,
/// see there why), with one set of given ports for the whole test process, so two calls made
/// before either server binds never return the same port.
public enum TestPorts {
    public static var range: Range<Int> { LocalPorts.range }
    private static let given = NIOLockedValueBox<Set<Int>>([])

    /// A port that no other call in this process returned and that was free a moment ago.
    public static func freePort() throws -> Int {
        try given.withLockedValue { taken throws(LocalPortsError) in try LocalPorts.freePort(avoiding: &taken) }
    }

    /// True if a TCP socket can bind 127.0.0.1:`port` now.
    public static func isFree(_ port: Int) -> Bool {
        LocalPorts.isFree(port)
    }
}
