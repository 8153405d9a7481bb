import Crypto
import KizunaCore
import KizunaNetwork
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import KizunaTestSupport
import Testing

/// The encrypted peer link (ADR 0008): key agreement, records, and what crosses the wire.
@Suite struct SecureLinkTests {
    let fixture = HandshakeFixture()

    static func linkPair() throws -> (SecureLinkKeys, SecureLinkKeys) {
        let a = Curve25519.KeyAgreement.PrivateKey()
        let b = Curve25519.KeyAgreement.PrivateKey()
        return (try SecureLinkKeys(own: a, peerPublicKey: Array(b.publicKey.rawRepresentation)),
                try SecureLinkKeys(own: b, peerPublicKey: Array(a.publicKey.rawRepresentation)))
    }

    static func code(_ body: () throws(PeerError) -> Void) -> PeerError.Code? {
        do {
            try body()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func bothSidesDeriveOneBindingAndCrossedKeys() throws {
        let (a, b) = try Self.linkPair()
        #expect(a.channelBinding == b.channelBinding && a.channelBinding.count == 32)
        var sealer = SecureLinkCipher(key: a.sendKey)
        var opener = SecureLinkCipher(key: b.receiveKey)
        var wire = ByteBuffer()
        try sealer.seal(ByteBuffer(bytes: Array("hello".utf8)), into: &wire)
        #expect(try opener.open(from: &wire).map { Array($0.readableBytesView) } == Array("hello".utf8))
        // Each direction has its own key: a's records do not open with a's receive key.
        var wrongDirection = SecureLinkCipher(key: a.receiveKey)
        var again = ByteBuffer()
        var sealer2 = SecureLinkCipher(key: a.sendKey)
        try sealer2.seal(ByteBuffer(bytes: [1, 2, 3]), into: &again)
        #expect(Self.code { () throws(PeerError) in _ = try wrongDirection.open(from: &again) } == .linkTampered)
        // A reflected preamble (our own key sent back) is refused.
        let own = Curve25519.KeyAgreement.PrivateKey()
        #expect(Self.code { () throws(PeerError) in _ = try SecureLinkKeys(own: own, peerPublicKey: Array(own.publicKey.rawRepresentation)) } == .linkMalformed)
    }

    /// The link starts from `StartsWhenChannelActive`'s defaults, not NIO's (which only pass
    /// the event on): its preamble goes out once, whether the handler is added before the
    /// connection is up (`channelActive`) or after (`handlerAdded`).
    @Test func thePreambleGoesOutOnceWhetherTheLinkIsAddedBeforeOrAfterTheConnection() throws {
        for addedBeforeConnecting in [true, false] {
            let channel = EmbeddedChannel()
            if addedBeforeConnecting { try channel.pipeline.syncOperations.addHandler(SecureLinkHandler()) }
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            if !addedBeforeConnecting { try channel.pipeline.syncOperations.addHandler(SecureLinkHandler()) }
            let preamble = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(preamble.readableBytes == SecureLinkLimits.preambleBytes)
            #expect(Array(preamble.readableBytesView.prefix(SecureLinkLimits.magic.count)) == SecureLinkLimits.magic)
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
            _ = try? channel.finish()
        }
    }

    @Test func recordsSplitAndAnyAlteredReplayedOrReorderedRecordIsRefused() throws {
        let (a, b) = try Self.linkPair()
        var sealer = SecureLinkCipher(key: a.sendKey)
        let big = (0..<(SecureLinkLimits.recordPlaintextBytesMax * 2 + 5)).map { UInt8(truncatingIfNeeded: $0) }
        var wire = ByteBuffer()
        try sealer.seal(ByteBuffer(bytes: big), into: &wire)
        #expect(wire.readableBytes == big.count + 3 * (SecureLinkLimits.lengthFieldBytes + SecureLinkLimits.tagBytes))
        #expect(!occurs(Array(big[1000..<1032]), in: Array(wire.readableBytesView)), "plaintext visible on the wire")
        var opener = SecureLinkCipher(key: b.receiveKey)
        var received: [UInt8] = []
        var partial = ByteBuffer(bytes: Array(wire.readableBytesView.prefix(100)))
        #expect(try opener.open(from: &partial) == nil, "a record is opened only when whole")
        var copy = wire
        while let chunk = try opener.open(from: &copy) { received += Array(chunk.readableBytesView) }
        #expect(received == big)

        // One flipped bit anywhere in a record: refused.
        for position in [5, 40, wire.readableBytes - 1] {
            var altered = Array(wire.readableBytesView)
            altered[position] ^= 0x80
            var buffer = ByteBuffer(bytes: altered)
            var fresh = SecureLinkCipher(key: b.receiveKey)
            let code = Self.code { () throws(PeerError) in while try fresh.open(from: &buffer) != nil {} }
            #expect(code == .linkTampered, "position \(position)")
        }
        // A replayed record (the first one again after it was opened): refused.
        var one = SecureLinkCipher(key: a.sendKey)
        var first = ByteBuffer()
        try one.seal(ByteBuffer(bytes: [7]), into: &first)
        var replay = ByteBuffer(bytes: Array(first.readableBytesView) + Array(first.readableBytesView))
        var replayOpener = SecureLinkCipher(key: b.receiveKey)
        #expect(try replayOpener.open(from: &replay) != nil)
        #expect(Self.code { () throws(PeerError) in _ = try replayOpener.open(from: &replay) } == .linkTampered)
        // A length beyond a record's maximum is refused before its body is buffered.
        var huge = ByteBuffer()
        huge.writeInteger(UInt32(SecureLinkLimits.recordPlaintextBytesMax + SecureLinkLimits.tagBytes + 1))
        var anyOpener = SecureLinkCipher(key: b.receiveKey)
        #expect(Self.code { () throws(PeerError) in _ = try anyOpener.open(from: &huge) } == .linkMalformed)
    }

    func network(_ key: PrivateKey, port: Int, peers: [(PrivateKey, Int)], recorder: EventRecorder) -> PeerNetwork {
        let configuration = PeerNetworkConfiguration(
            handshake: HandshakeConfiguration(chainId: HandshakeFixture.chainId, privateKey: key, allowedKeys: Set(peers.map(\.0.publicKey))),
            listenHost: "127.0.0.1", listenPort: port,
            peers: peers.map { PeerAddress(name: "peer", host: "127.0.0.1", port: $0.1, publicKey: $0.0.publicKey) },
            dialsEveryPeer: false, reconnectDelayMillisecondsMin: 50, reconnectDelayMillisecondsMax: 200)
        return PeerNetwork(configuration: configuration) { recorder.record($0) }
    }

    /// Four nodes, every connection through a recording proxy; each broadcasts a frame that
    /// carries transaction-like bytes. Everyone receives every frame; the capture holds neither
    /// those bytes nor the chain id nor any node's public key.
    @Test func fourNodesTrafficCarriesNoPayloadChainIdOrKeysInClear() async throws {
        let keys = (0..<4).map { PrivateKey(seed: [UInt8](repeating: UInt8(10 + $0), count: 32))! }
        var ports: [Int] = []
        for _ in keys { ports.append(try await PeerNetworkTests.freePort()) }
        var proxies: [RecordingProxy] = []
        var proxyPorts: [Int] = []
        for port in ports {
            let proxy = RecordingProxy(target: port)
            proxyPorts.append(try await proxy.start())
            proxies.append(proxy)
        }
        let recorders = keys.map { _ in EventRecorder() }
        let networks = keys.indices.map { index in
            network(keys[index], port: ports[index],
                    peers: keys.indices.filter { $0 != index }.map { (keys[$0], proxyPorts[$0]) }, recorder: recorders[index])
        }
        for network in networks { try await network.start() }
        let started = proxies
        defer { Task { for network in networks { await network.stop() }; for proxy in started { await proxy.stop() } } }
        for index in keys.indices {
            #expect(await recorders[index].waitFor { _ in networks[index].connectedPeers.count == 3 }, "node \(index) did not connect to all three")
        }

        // A payload that looks like what validators gossip: distinctive, larger than one record.
        let payloads = keys.indices.map { index in (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7 + index * 131) } }
        for index in keys.indices {
            #expect(networks[index].broadcast(Frame(kind: FrameKind(rawValue: 17), payload: payloads[index])) == 3)
        }
        for receiver in keys.indices {
            for sender in keys.indices where sender != receiver {
                #expect(await recorders[receiver].waitFor {
                    if case .frame(let peer, let frame) = $0 { return peer == keys[sender].publicKey && frame.payload == payloads[sender] } else { return false }
                }, "node \(receiver) did not get node \(sender)'s frame")
            }
        }
        let capture = proxies.flatMap { $0.upstream + $0.downstream }
        #expect(capture.count > 4 * 3 * 70_000, "the proxies saw the traffic")
        #expect(!occurs(Array(HandshakeFixture.chainId.utf8), in: capture), "the chain id crossed in clear")
        for index in keys.indices {
            #expect(!occurs(Array(payloads[index][30_000..<30_032]), in: capture), "node \(index)'s payload crossed in clear")
            #expect(!occurs(keys[index].publicKey.bytes, in: capture), "node \(index)'s key crossed in clear")
        }
    }

    /// An attacker on the path flips one bit of a record after the handshake: the receiving
    /// node closes the connection with `peer.link_tampered`, and the altered frame is never
    /// delivered.
    @Test func aTamperedRecordClosesTheConnection() async throws {
        let (low, high) = fixture.alice.publicKey < fixture.bob.publicKey ? (fixture.alice, fixture.bob) : (fixture.bob, fixture.alice)
        let lowPort = try await PeerNetworkTests.freePort()
        let highPort = try await PeerNetworkTests.freePort()
        // Past the preamble (40), the hello and the proof records (< 400 bytes together).
        let proxy = RecordingProxy(target: highPort, tamperAtOffset: 600)
        let proxyPort = try await proxy.start()
        let lowEvents = EventRecorder()
        let highEvents = EventRecorder()
        let lowNetwork = network(low, port: lowPort, peers: [(high, proxyPort)], recorder: lowEvents)
        let highNetwork = network(high, port: highPort, peers: [(low, lowPort)], recorder: highEvents)
        try await highNetwork.start()
        try await lowNetwork.start()
        defer { Task { await lowNetwork.stop(); await highNetwork.stop(); await proxy.stop() } }
        #expect(await highEvents.waitFor { if case .connected(let peer, _) = $0 { return peer == low.publicKey } else { return false } })
        // Frames of 1 KiB until the proxy has altered one (bounded).
        let frame = Frame(kind: FrameKind(rawValue: 40), payload: [UInt8](repeating: 0xab, count: 1024))
        for _ in 0..<200 where !proxy.tampered {
            _ = lowNetwork.send(frame, to: high.publicKey)
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        #expect(proxy.tampered)
        #expect(await highEvents.waitFor { if case .refused(_, _, let error) = $0 { return error.code == .linkTampered } else { return false } },
                "no peer.link_tampered: \(highEvents.all)")
        #expect(await highEvents.waitFor { if case .disconnected(let peer) = $0 { return peer == low.publicKey } else { return false } })
        let delivered = highEvents.count { if case .frame(_, let received) = $0 { return received.payload != frame.payload } else { return false } }
        #expect(delivered == 0, "an altered frame was delivered")
    }

    /// The address of one validator answers with another's key (a stolen address, a wrong
    /// configuration, or a relay): the dialer closes the connection with `peer.unknown_key`.
    @Test func aPeerPresentingAnotherKeyIsDisconnected() async throws {
        let keys = [fixture.alice, fixture.bob, fixture.mallory].sorted { $0.publicKey < $1.publicKey }
        let (dialer, expected, impostor) = (keys[0], keys[1], keys[2])
        let dialerPort = try await PeerNetworkTests.freePort()
        let impostorPort = try await PeerNetworkTests.freePort()
        let dialerEvents = EventRecorder()
        // The dialer allows both keys, but expects `expected` at this address.
        let configuration = PeerNetworkConfiguration(
            handshake: HandshakeConfiguration(chainId: HandshakeFixture.chainId, privateKey: dialer, allowedKeys: [expected.publicKey, impostor.publicKey]),
            listenHost: "127.0.0.1", listenPort: dialerPort,
            peers: [PeerAddress(name: "expected", host: "127.0.0.1", port: impostorPort, publicKey: expected.publicKey)],
            dialsEveryPeer: false, reconnectDelayMillisecondsMin: 50, reconnectDelayMillisecondsMax: 200)
        let dialerNetwork = PeerNetwork(configuration: configuration) { dialerEvents.record($0) }
        let impostorNetwork = network(impostor, port: impostorPort, peers: [(dialer, dialerPort)], recorder: EventRecorder())
        try await impostorNetwork.start()
        try await dialerNetwork.start()
        defer { Task { await dialerNetwork.stop(); await impostorNetwork.stop() } }
        #expect(await dialerEvents.waitFor { if case .refused(_, _, let error) = $0 { return error.code == .unknownKey } else { return false } },
                "no peer.unknown_key: \(dialerEvents.all)")
        #expect(!dialerEvents.all.contains { if case .connected = $0 { return true } else { return false } })
    }
}
