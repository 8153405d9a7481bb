import KizunaCore
import KizunaNetwork
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import KizunaTestSupport

/// Collects a network's events for a test and waits (bounded) for one that matches.
final class EventRecorder: Sendable {
    private let events = NIOLockedValueBox<[PeerNetworkEvent]>([])

    func record(_ event: PeerNetworkEvent) { events.withLockedValue { $0.append(event) } }

    var all: [PeerNetworkEvent] { events.withLockedValue { $0 } }

    /// Polls at most `polls` × 20 ms for an event matching `predicate`.
    func waitFor(polls: Int = 1500, _ predicate: (PeerNetworkEvent) -> Bool) async -> Bool {
        for _ in 0..<polls {
            if all.contains(where: predicate) { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return all.contains(where: predicate)
    }

    func count(_ predicate: (PeerNetworkEvent) -> Bool) -> Int { all.filter(predicate).count }
}

/// `PeerNetwork` over real sockets on 127.0.0.1: who dials, reconnect after the peer
/// restarts, frames both ways, and the bounded outbound queue.
@Suite struct PeerNetworkTests {
    let fixture = HandshakeFixture()

    func network(_ key: PrivateKey, port: Int, peers: [(PrivateKey, Int)], outboundBytesMax: Int = 64 * 1024 * 1024, recorder: EventRecorder) -> PeerNetwork {
        let configuration = PeerNetworkConfiguration(
            handshake: HandshakeConfiguration(chainId: HandshakeFixture.chainId, privateKey: key, allowedKeys: Set(peers.map(\.0.publicKey))),
            listenHost: "127.0.0.1", listenPort: port,
            peers: peers.map { PeerAddress(name: "peer", host: "127.0.0.1", port: $0.1, publicKey: $0.0.publicKey) },
            dialsEveryPeer: false, outboundBytesMaxPerPeer: outboundBytesMax,
            reconnectDelayMillisecondsMin: 50, reconnectDelayMillisecondsMax: 200)
        return PeerNetwork(configuration: configuration) { recorder.record($0) }
    }

    /// A free port on 127.0.0.1 below the kernel's ephemeral range (`TestPorts`, shared with
    /// the node process tests).
    static func freePort() async throws -> Int { try TestPorts.freePort() }

    func isConnected(_ event: PeerNetworkEvent, to key: PrivateKey) -> Bool {
        if case .connected(let peer, _) = event { return peer == key.publicKey }
        return false
    }

    @Test func theSmallerKeyDialsAndBothSidesExchangeFrames() async throws {
        let (low, high) = fixture.alice.publicKey < fixture.bob.publicKey ? (fixture.alice, fixture.bob) : (fixture.bob, fixture.alice)
        let lowPort = try await Self.freePort()
        let highPort = try await Self.freePort()
        let lowEvents = EventRecorder()
        let highEvents = EventRecorder()
        let lowNetwork = network(low, port: lowPort, peers: [(high, highPort)], recorder: lowEvents)
        let highNetwork = network(high, port: highPort, peers: [(low, lowPort)], recorder: highEvents)
        try await highNetwork.start()
        try await lowNetwork.start()
        defer { Task { await lowNetwork.stop(); await highNetwork.stop() } }

        #expect(await lowEvents.waitFor { if case .connected(_, let outbound) = $0 { return outbound } else { return false } })
        #expect(await highEvents.waitFor { if case .connected(_, let outbound) = $0 { return !outbound } else { return false } })
        let frame = Frame(kind: FrameKind(rawValue: 40), payload: [1, 2, 3])
        #expect(highNetwork.send(frame, to: low.publicKey))
        #expect(lowNetwork.broadcast(Frame(kind: FrameKind(rawValue: 41), payload: [9])) == 1)
        #expect(await lowEvents.waitFor { if case .frame(let peer, let received) = $0 { return peer == high.publicKey && received == frame } else { return false } })
        #expect(await highEvents.waitFor { if case .frame(_, let received) = $0 { return received.kind.rawValue == 41 } else { return false } })
        #expect(lowNetwork.connectedPeers == [high.publicKey])
    }

    @Test func theDialerReconnectsAfterThePeerRestarts() async throws {
        let (low, high) = fixture.alice.publicKey < fixture.bob.publicKey ? (fixture.alice, fixture.bob) : (fixture.bob, fixture.alice)
        let lowPort = try await Self.freePort()
        let highPort = try await Self.freePort()
        let lowEvents = EventRecorder()
        let lowNetwork = network(low, port: lowPort, peers: [(high, highPort)], recorder: lowEvents)
        try await lowNetwork.start()
        defer { Task { await lowNetwork.stop() } }
        // The peer is not up yet: dials fail and are retried with backoff.
        #expect(await lowEvents.waitFor { if case .dialFailed = $0 { return true } else { return false } })

        let first = network(high, port: highPort, peers: [(low, lowPort)], recorder: EventRecorder())
        try await first.start()
        #expect(await lowEvents.waitFor { isConnected($0, to: high) })
        await first.stop()
        #expect(await lowEvents.waitFor { if case .disconnected = $0 { return true } else { return false } })

        let second = network(high, port: highPort, peers: [(low, lowPort)], recorder: EventRecorder())
        try await second.start()
        defer { Task { await second.stop() } }
        #expect(await lowEvents.waitFor { _ in lowEvents.count { isConnected($0, to: high) } >= 2 }, "no reconnection after the peer restarted")
    }

    @Test func framesBeyondTheOutboundBoundAreDroppedAndSentBytesAreReleased() async throws {
        let (low, high) = fixture.alice.publicKey < fixture.bob.publicKey ? (fixture.alice, fixture.bob) : (fixture.bob, fixture.alice)
        let lowPort = try await Self.freePort()
        let highPort = try await Self.freePort()
        let lowEvents = EventRecorder()
        let highEvents = EventRecorder()
        let lowNetwork = network(low, port: lowPort, peers: [(high, highPort)], outboundBytesMax: 64 * 1024, recorder: lowEvents)
        let highNetwork = network(high, port: highPort, peers: [(low, lowPort)], recorder: highEvents)
        try await highNetwork.start()
        try await lowNetwork.start()
        defer { Task { await lowNetwork.stop(); await highNetwork.stop() } }
        #expect(await lowEvents.waitFor { isConnected($0, to: high) })

        // More than the bound at once: refused and reported, never queued.
        let oversize = Frame(kind: FrameKind(rawValue: 42), payload: [UInt8](repeating: 7, count: 70 * 1024))
        #expect(!lowNetwork.send(oversize, to: high.publicKey))
        #expect(await lowEvents.waitFor { if case .outboundDropped(_, let bytes) = $0 { return bytes > 64 * 1024 } else { return false } })

        // Within the bound: sent; once delivered its bytes are released, so the next fits too.
        for round in 0..<3 {
            let frame = Frame(kind: FrameKind(rawValue: 43), payload: [UInt8](repeating: UInt8(round), count: 40 * 1024))
            // The previous frame's bytes are released when its write completes, shortly after
            // delivery: poll (bounded) until this one is taken.
            var accepted = false
            for _ in 0..<1000 where !accepted {
                accepted = lowNetwork.send(frame, to: high.publicKey)
                if !accepted { try await Task.sleep(nanoseconds: 10_000_000) }
            }
            #expect(accepted, "frame \(round) refused: queued bytes were never released")
            #expect(await highEvents.waitFor { if case .frame(_, let received) = $0 { return received == frame } else { return false } })
        }
    }
}
