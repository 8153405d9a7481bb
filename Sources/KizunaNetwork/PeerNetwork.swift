public import KizunaCore
public import NIOCore
import NIOConcurrencyHelpers
import NIOPosix

/// A peer this node knows by address and key.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    /// For logs: the organisation or node name.
    public var name: String
    public var host: String
    public var port: Int
    /// The key the peer must prove it holds.
    public var publicKey: PublicKey

    public init(name: String, host: String, port: Int, publicKey: PublicKey) {
        self.name = name
        self.host = host
        self.port = port
        self.publicKey = publicKey
    }

    public var description: String { "\(name) (\(host):\(port))" }
}

/// What the peer network reports to the layer above, on an event-loop thread.
public enum PeerNetworkEvent: Sendable {
    /// A peer proved its key; frames may now be sent to it.
    case connected(PublicKey, outbound: Bool)
    /// The connection to an authenticated peer closed.
    case disconnected(PublicKey)
    /// A frame from an authenticated peer.
    case frame(PublicKey, Frame)
    /// A connection was refused or failed with a peer error (garbage, oversize frame, wrong
    /// key, bad proof…): the connection is closed; `peer` is set if it had authenticated.
    case refused(remote: String, peer: PublicKey?, PeerError)
    /// Dialing a configured peer failed; the network retries with backoff.
    case dialFailed(PeerAddress, String)
    /// A frame to a peer was dropped because its outbound queue was full (a slow peer).
    case outboundDropped(PublicKey, bytes: Int)
}

/// How the peer network listens, whom it dials, and its limits, unit last.
public struct PeerNetworkConfiguration: Sendable {
    public var handshake: HandshakeConfiguration
    /// Where to listen; nil for a node that only dials (an observer).
    public var listenHost: String?
    public var listenPort: Int
    /// Peers to keep connected. Between two validators only the one with the smaller key
    /// dials, so that they never race to open two connections; with `dialsEveryPeer` (an
    /// observer, whose address validators do not know) this node dials all of them.
    public var peers: [PeerAddress]
    public var dialsEveryPeer: Bool
    public var frameBytesMax: Int
    /// Bytes written to one peer and not yet sent; past it frames to that peer are dropped
    /// (consensus re-sends and block sync re-asks, so a drop delays, never loses).
    public var outboundBytesMaxPerPeer: Int
    public var reconnectDelayMillisecondsMin: UInt64
    public var reconnectDelayMillisecondsMax: UInt64
    public var handshakeTimeoutMilliseconds: Int64
    /// Peer links without encryption (`PlainLinkHandler`): a development benchmark's baseline,
    /// allowed by the node on `local-` chains only.
    public var plainLinksForDevelopment = false

    public init(handshake: HandshakeConfiguration, listenHost: String?, listenPort: Int, peers: [PeerAddress], dialsEveryPeer: Bool,
                frameBytesMax: Int = FrameLimits.frameBytesMaxDefault, outboundBytesMaxPerPeer: Int = 64 * 1024 * 1024,
                reconnectDelayMillisecondsMin: UInt64 = 200, reconnectDelayMillisecondsMax: UInt64 = 5000,
                handshakeTimeoutMilliseconds: Int64 = PeerConnectionLimits.handshakeTimeoutMillisecondsDefault) {
        self.handshake = handshake
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.peers = peers
        self.dialsEveryPeer = dialsEveryPeer
        self.frameBytesMax = frameBytesMax
        self.outboundBytesMaxPerPeer = outboundBytesMaxPerPeer
        self.reconnectDelayMillisecondsMin = reconnectDelayMillisecondsMin
        self.reconnectDelayMillisecondsMax = reconnectDelayMillisecondsMax
        self.handshakeTimeoutMilliseconds = handshakeTimeoutMilliseconds
    }

    /// True if this node opens the connection to `peer` (see `peers`).
    public func dials(_ peer: PeerAddress) -> Bool {
        dialsEveryPeer || handshake.privateKey.publicKey < peer.publicKey
    }
}

/// The authenticated peer-to-peer transport: a listener, a dialer per configured peer with
/// exponential backoff, a registry of authenticated connections (one per key), and
/// per-peer bounded outbound queues. It moves `Frame`s; what they mean is the node's business.
///
/// ```swift
/// let network = PeerNetwork(configuration: configuration) { event in inbox.yield(event) }
/// let port = try await network.start()
/// network.broadcast(Frame(kind: FrameKind(rawValue: 16), payload: bytes))
/// ```
public final class PeerNetwork: Sendable {
    public let configuration: PeerNetworkConfiguration
    let group: any EventLoopGroup
    let onEvent: @Sendable (PeerNetworkEvent) -> Void
    let registry = NIOLockedValueBox<[PublicKey: PeerConnection]>([:])
    let lifecycle = NIOLockedValueBox<(server: (any Channel)?, stopped: Bool, dialers: [Task<Void, Never>])>((nil, false, []))

    public init(configuration: PeerNetworkConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                onEvent: @escaping @Sendable (PeerNetworkEvent) -> Void) {
        self.configuration = configuration
        self.group = group
        self.onEvent = onEvent
    }

    /// Binds the listener (if any) and starts dialing. Returns the bound port (0 if none).
    @discardableResult
    public func start() async throws -> Int {
        var port = 0
        if let host = configuration.listenHost {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.installHandlers(on: channel, expecting: nil, authenticated: NIOLockedValueBox(false)) }
                }
                .bind(host: host, port: configuration.listenPort).get()
            port = server.localAddress?.port ?? 0
            lifecycle.withLockedValue { $0.server = server }
        }
        let tasks = configuration.peers.filter { configuration.dials($0) }.map { peer in
            Task { await self.keepConnected(peer) }
        }
        lifecycle.withLockedValue { $0.dialers = tasks }
        return port
    }

    /// Stops dialing, closes the listener and every connection.
    public func stop() async {
        let (server, dialers) = lifecycle.withLockedValue { state -> ((any Channel)?, [Task<Void, Never>]) in
            state.stopped = true
            return (state.server, state.dialers)
        }
        for task in dialers { task.cancel() }
        try? await server?.close()
        let connections = registry.withLockedValue { Array($0.values) }
        for connection in connections { try? await connection.channel.close() }
    }

    var isStopped: Bool { lifecycle.withLockedValue { $0.stopped } }

    /// The keys of the peers connected now, sorted.
    public var connectedPeers: [PublicKey] { registry.withLockedValue { $0.keys.sorted() } }

    /// Queues `frame` to `peer`. Returns false if the peer is not connected or its queue is full.
    @discardableResult
    public func send(_ frame: Frame, to peer: PublicKey) -> Bool {
        guard let connection = registry.withLockedValue({ $0[peer] }) else { return false }
        return write(frame, to: connection)
    }

    /// Queues `frame` to every connected peer; returns how many took it.
    @discardableResult
    public func broadcast(_ frame: Frame) -> Int {
        let connections = registry.withLockedValue { Array($0.values) }
        return connections.reduce(0) { $0 + (write(frame, to: $1) ? 1 : 0) }
    }

    /// Closes the connection to `peer` (after a protocol violation the layer above found).
    public func disconnect(_ peer: PublicKey) {
        registry.withLockedValue { $0[peer] }?.channel.close(promise: nil)
    }

    private func write(_ frame: Frame, to connection: PeerConnection) -> Bool {
        let bytes = FrameLimits.lengthFieldBytes + frame.lengthFieldValue
        let admitted = connection.queuedBytes.withLockedValue { queued -> Bool in
            guard queued + bytes <= configuration.outboundBytesMaxPerPeer else { return false }
            queued += bytes
            return true
        }
        guard admitted else {
            onEvent(.outboundDropped(connection.key, bytes: bytes))
            return false
        }
        connection.channel.writeAndFlush(frame).whenComplete { _ in
            connection.queuedBytes.withLockedValue { $0 -= bytes }
        }
        return true
    }

    // MARK: - Connections

    func installHandlers(on channel: any Channel, expecting peerKey: PublicKey?, authenticated: NIOLockedValueBox<Bool>) throws {
        let registry = self.registry
        try channel.pipeline.syncOperations.addPeerHandlers(
            configuration: configuration.handshake, challenge: PeerHandshakeHandler.randomChallenge(), expectedPeerKey: peerKey,
            isAlreadyConnected: { key in registry.withLockedValue { $0[key] != nil } },
            frameBytesMax: configuration.frameBytesMax,
            handshakeTimeout: .milliseconds(configuration.handshakeTimeoutMilliseconds),
            plainLinkForDevelopment: configuration.plainLinksForDevelopment)
        try channel.pipeline.syncOperations.addHandler(PeerSessionHandler(network: self, outbound: peerKey != nil, authenticated: authenticated))
    }

    /// Registers an authenticated connection; false if the key already has one (the
    /// handshake checks too, but two connections may authenticate at the same moment).
    func register(_ key: PublicKey, channel: any Channel) -> Bool {
        registry.withLockedValue { connections in
            guard connections[key] == nil else { return false }
            connections[key] = PeerConnection(key: key, channel: channel)
            return true
        }
    }

    func unregister(_ key: PublicKey, channel: any Channel) -> Bool {
        registry.withLockedValue { connections in
            guard let existing = connections[key], existing.channel === channel else { return false }
            connections[key] = nil
            return true
        }
    }

    /// Dials `peer` whenever it is not connected, backing off exponentially after failures.
    func keepConnected(_ peer: PeerAddress) async {
        var delay = configuration.reconnectDelayMillisecondsMin
        while !Task.isCancelled && !isStopped {
            if registry.withLockedValue({ $0[peer.publicKey] != nil }) {
                // Connected (perhaps by the peer): look again later.
                try? await Task.sleep(nanoseconds: configuration.reconnectDelayMillisecondsMin * 1_000_000)
                continue
            }
            let authenticated = NIOLockedValueBox(false)
            do {
                let channel = try await ClientBootstrap(group: group)
                    .connectTimeout(.seconds(5))
                    .channelInitializer { [self] channel in
                        channel.eventLoop.makeCompletedFuture { try self.installHandlers(on: channel, expecting: peer.publicKey, authenticated: authenticated) }
                    }
                    .connect(host: peer.host, port: peer.port).get()
                try? await channel.closeFuture.get()
                if !authenticated.withLockedValue({ $0 }) {
                    onEvent(.dialFailed(peer, "the connection closed before the handshake finished"))
                }
            } catch {
                onEvent(.dialFailed(peer, "\(error)"))
            }
            delay = authenticated.withLockedValue({ $0 }) ? configuration.reconnectDelayMillisecondsMin : min(delay * 2, configuration.reconnectDelayMillisecondsMax)
            try? await Task.sleep(nanoseconds: delay * 1_000_000)
        }
    }
}

/// One authenticated connection and the bytes queued on it.
final class PeerConnection: Sendable {
    let key: PublicKey
    let channel: any Channel
    let queuedBytes = NIOLockedValueBox(0)

    init(key: PublicKey, channel: any Channel) {
        self.key = key
        self.channel = channel
    }
}

/// The last handler of a peer pipeline: registers the connection once authenticated and
/// reports frames, errors and the close to the network.
final class PeerSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = AuthenticatedFrame

    let network: PeerNetwork
    let outbound: Bool
    private var peerKey: PublicKey?
    private var registered = false
    private let authenticatedFlag: NIOLockedValueBox<Bool>

    init(network: PeerNetwork, outbound: Bool, authenticated: NIOLockedValueBox<Bool>) {
        self.network = network
        self.outbound = outbound
        self.authenticatedFlag = authenticated
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let authenticated = event as? PeerAuthenticatedEvent {
            peerKey = authenticated.peerKey
            if network.register(authenticated.peerKey, channel: context.channel) {
                registered = true
                authenticatedFlag.withLockedValue { $0 = true }
                network.onEvent(.connected(authenticated.peerKey, outbound: outbound))
            } else {
                network.onEvent(.refused(remote: "\(context.remoteAddress.map { "\($0)" } ?? "?")", peer: authenticated.peerKey,
                                         PeerError(.duplicateConnection, "key \(authenticated.peerKey.address) is already connected")))
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard registered else { return }
        network.onEvent(.frame(frame.peerKey, frame.frame))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let remote = context.remoteAddress.map { "\($0)" } ?? "?"
        if let error = error as? PeerError {
            network.onEvent(.refused(remote: remote, peer: peerKey, error))
        } else if !(error is ChannelError) && !(error is IOError) {
            network.onEvent(.refused(remote: remote, peer: peerKey, PeerError(.malformedMessage, "\(error)")))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if registered, let peerKey, network.unregister(peerKey, channel: context.channel) {
            network.onEvent(.disconnected(peerKey))
        }
        registered = false
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension PeerSessionHandler: Sendable {}
