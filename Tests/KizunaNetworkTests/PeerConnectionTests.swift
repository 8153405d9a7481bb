import KizunaCore
import KizunaNetwork
import NIOCore
import NIOPosix
import Testing

/// The handshake handler over real TCP sockets on 127.0.0.1. No wall-clock assertions: each
/// side reads until its connection closes, and the handshake timeout bounds a stuck test.
@Suite struct PeerConnectionTests {
    let fixture = HandshakeFixture()
    typealias PeerChannel = NIOAsyncChannel<AuthenticatedFrame, Frame>

    func initializer(_ key: PrivateKey, allowing allowed: [PrivateKey], plain: Bool = false) -> @Sendable (any Channel) -> EventLoopFuture<PeerChannel> {
        let configuration = fixture.configuration(key, allowing: allowed)
        return { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addPeerHandlers(
                    configuration: configuration, challenge: PeerHandshakeHandler.randomChallenge(),
                    isAlreadyConnected: { _ in false }, handshakeTimeout: .seconds(10), plainLinkForDevelopment: plain)
                return try PeerChannel(wrappingChannelSynchronously: channel)
            }
        }
    }

    /// Listens on 127.0.0.1 port 0; returns the listener and its port.
    func listen(_ key: PrivateKey, allowing allowed: [PrivateKey], plain: Bool = false) async throws -> (NIOAsyncChannel<PeerChannel, Never>, Int) {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0, childChannelInitializer: initializer(key, allowing: allowed, plain: plain))
        return (server, try #require(server.channel.localAddress?.port))
    }

    /// Accepts one connection and reads it to the end, answering the first frame; returns
    /// what it received and the error that ended it, if any.
    static func serveOne(_ server: NIOAsyncChannel<PeerChannel, Never>, reply: Frame) async throws -> ([AuthenticatedFrame], PeerError?) {
        try await server.executeThenClose { connections in
            for try await connection in connections {
                var received: [AuthenticatedFrame] = []
                var failure: PeerError?
                do {
                    try await connection.executeThenClose { inbound, outbound in
                        for try await frame in inbound {
                            if received.isEmpty { try await outbound.write(reply) }
                            received.append(frame)
                        }
                    }
                } catch let error as PeerError {
                    failure = error
                } catch {
                    // The client may reset the connection after it has what it needs.
                }
                return (received, failure)
            }
            return ([], nil)
        }
    }

    @Test func twoAllowedPeersConnectAndExchangeFrames() async throws {
        try await exchange(plain: false)
    }

    /// The development baseline of `kizuna bench network --compare-links`: the same handshake
    /// and frames over a link without encryption, both ends plain.
    @Test func twoPlainPeersConnectAndExchangeFrames() async throws {
        try await exchange(plain: true)
    }

    func exchange(plain: Bool) async throws {
        let (server, port) = try await listen(fixture.bob, allowing: [fixture.alice], plain: plain)
        let request = Frame(kind: FrameKind(rawValue: 16), payload: [1, 2, 3])
        let reply = Frame(kind: FrameKind(rawValue: 17), payload: [4, 5])
        async let served = Self.serveOne(server, reply: reply)

        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port, channelInitializer: initializer(fixture.alice, allowing: [fixture.bob], plain: plain))
        // Written before the handshake finishes: the handler holds it until bob is authenticated.
        let answer = try await client.executeThenClose { inbound, outbound -> AuthenticatedFrame? in
            try await outbound.write(request)
            for try await frame in inbound { return frame }
            return nil
        }
        #expect(answer == AuthenticatedFrame(peerKey: fixture.bob.publicKey, frame: reply))

        let (received, failure) = try await served
        #expect(received == [AuthenticatedFrame(peerKey: fixture.alice.publicKey, frame: request)])
        #expect(failure == nil)
    }

    @Test func unknownKeyIsRefusedAndTheConnectionClosed() async throws {
        let (server, port) = try await listen(fixture.bob, allowing: [fixture.alice])
        async let served = Self.serveOne(server, reply: Frame(kind: FrameKind(rawValue: 17), payload: []))

        // Mallory accepts bob, but bob does not accept mallory.
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port, channelInitializer: initializer(fixture.mallory, allowing: [fixture.bob]))
        var clientFrames: [AuthenticatedFrame] = []
        do {
            try await client.executeThenClose { inbound, outbound in
                try await outbound.write(Frame(kind: FrameKind(rawValue: 16), payload: [9]))
                for try await frame in inbound { clientFrames.append(frame) }
            }
        } catch {
            // The close may arrive as a reset, or as the pending write failing: either way
            // the connection ended without authenticating.
        }
        #expect(clientFrames.isEmpty)

        let (received, failure) = try await served
        #expect(received.isEmpty)
        #expect(failure == PeerError(.unknownKey, ""))
    }
}
