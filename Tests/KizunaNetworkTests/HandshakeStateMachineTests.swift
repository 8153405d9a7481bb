import KizunaCore
import KizunaNetwork
import Testing

/// Deterministic keys and challenges for handshake tests.
struct HandshakeFixture {
    static let chainId = "test-chain"
    let alice = PrivateKey(seed: [UInt8](repeating: 1, count: 32))!
    let bob = PrivateKey(seed: [UInt8](repeating: 2, count: 32))!
    let mallory = PrivateKey(seed: [UInt8](repeating: 3, count: 32))!

    static func challenge(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }
    /// The encrypted link's channel binding both proofs sign (`SecureLinkKeys`).
    static let binding = [UInt8](repeating: 0x5b, count: 32)

    func configuration(_ key: PrivateKey, allowing allowed: [PrivateKey], chainId: String = chainId) -> HandshakeConfiguration {
        HandshakeConfiguration(chainId: chainId, privateKey: key, allowedKeys: Set(allowed.map(\.publicKey)))
    }

    func machine(_ key: PrivateKey, allowing allowed: [PrivateKey], challenge: UInt8, chainId: String = chainId,
                 expecting expected: PublicKey? = nil, connected: Set<PublicKey> = []) -> HandshakeStateMachine {
        HandshakeStateMachine(configuration: configuration(key, allowing: allowed, chainId: chainId),
                              challenge: Self.challenge(challenge), expectedPeerKey: expected,
                              isAlreadyConnected: { connected.contains($0) })
    }

    func hello(_ key: PublicKey, challenge: UInt8, chainId: String = chainId) -> Frame {
        Frame(kind: .hello, payload: PeerHello(chainId: chainId, publicKey: key, challenge: Self.challenge(challenge)).canonicalBytes)
    }
}

/// The frame an action sends; fails the test for any other action.
func sent(_ action: HandshakeStateMachine.Action, sourceLocation: SourceLocation = #_sourceLocation) -> Frame? {
    guard case .send(let frame) = action else {
        Issue.record("expected .send, got \(action)", sourceLocation: sourceLocation)
        return nil
    }
    return frame
}

func refusal(_ action: HandshakeStateMachine.Action) -> PeerError.Code? {
    guard case .refuse(let error) = action else { return nil }
    return error.code
}

@Suite struct HandshakeStateMachineTests {
    let fixture = HandshakeFixture()

    /// Runs alice ↔ bob up to both proofs; returns the machines and the frames each sent.
    func handshake(alice: inout HandshakeStateMachine, bob: inout HandshakeStateMachine) throws -> (aliceHello: Frame, aliceProof: Frame, bobHello: Frame, bobProof: Frame) {
        let aliceHello = try #require(sent(alice.connected(channelBinding: HandshakeFixture.binding)))
        let bobHello = try #require(sent(bob.connected(channelBinding: HandshakeFixture.binding)))
        let aliceProof = try #require(sent(alice.frameReceived(bobHello)))
        let bobProof = try #require(sent(bob.frameReceived(aliceHello)))
        return (aliceHello, aliceProof, bobHello, bobProof)
    }

    @Test func twoAllowedPeersAuthenticateEachOtherEventByEvent() throws {
        var alice = fixture.machine(fixture.alice, allowing: [fixture.bob], challenge: 0xa1)
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        #expect(alice.state == .idle)

        let aliceHello = try #require(sent(alice.connected(channelBinding: HandshakeFixture.binding)))
        #expect(aliceHello.kind == .hello)
        #expect(try PeerHello(canonicalBytes: aliceHello.payload) == PeerHello(chainId: HandshakeFixture.chainId, publicKey: fixture.alice.publicKey, challenge: HandshakeFixture.challenge(0xa1)))
        #expect(alice.state == .awaitingHello(channelBinding: HandshakeFixture.binding))
        let bobHello = try #require(sent(bob.connected(channelBinding: HandshakeFixture.binding)))

        let aliceProof = try #require(sent(alice.frameReceived(bobHello)))
        #expect(aliceProof.kind == .proof)
        #expect(alice.state == .awaitingProof(peerKey: fixture.bob.publicKey, channelBinding: HandshakeFixture.binding))
        // Alice's proof signs bob's challenge, alice's key, then bob's key.
        let proof = try PeerProof(canonicalBytes: aliceProof.payload)
        let signed = PeerProof.signingBytes(chainId: HandshakeFixture.chainId, channelBinding: HandshakeFixture.binding, verifierChallenge: HandshakeFixture.challenge(0xb1), proverKey: fixture.alice.publicKey, verifierKey: fixture.bob.publicKey)
        #expect(fixture.alice.publicKey.isValidSignature(proof.signature, for: signed))

        let bobProof = try #require(sent(bob.frameReceived(aliceHello)))
        #expect(alice.frameReceived(bobProof) == .authenticated(fixture.bob.publicKey))
        #expect(alice.state == .authenticated(peerKey: fixture.bob.publicKey))
        #expect(alice.peerKey == fixture.bob.publicKey)
        #expect(bob.frameReceived(aliceProof) == .authenticated(fixture.alice.publicKey))

        let application = Frame(kind: FrameKind(rawValue: 16), payload: [1, 2, 3])
        #expect(alice.frameReceived(application) == .deliver(application))
        #expect(alice.handshakeTimedOut() == .none)
    }

    @Test func proofOrderOfArrivalDoesNotMatterBetweenSides() throws {
        // Bob sees alice's proof before alice sees bob's: the reverse of the test above.
        var alice = fixture.machine(fixture.alice, allowing: [fixture.bob], challenge: 0xa1)
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        let frames = try handshake(alice: &alice, bob: &bob)
        #expect(bob.frameReceived(frames.aliceProof) == .authenticated(fixture.alice.publicKey))
        #expect(alice.frameReceived(frames.bobProof) == .authenticated(fixture.bob.publicKey))
    }

    @Test func unknownKeyIsRefusedAtHello() throws {
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        #expect(refusal(bob.frameReceived(fixture.hello(fixture.mallory.publicKey, challenge: 7))) == .unknownKey)
        #expect(bob.state == .refused(PeerError(.unknownKey, "")))
        // Once refused, whatever is still in flight is ignored.
        #expect(bob.frameReceived(Frame(kind: .proof, payload: [])) == .none)
    }

    @Test func keyOtherThanTheExpectedOneIsRefused() throws {
        // Both are allowed, but the dialer dialed the address configured for alice.
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice, fixture.mallory], challenge: 0xb1, expecting: fixture.alice.publicKey)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        #expect(refusal(bob.frameReceived(fixture.hello(fixture.mallory.publicKey, challenge: 7))) == .unknownKey)
    }

    @Test func wrongChainIsRefused() throws {
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        #expect(refusal(bob.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7, chainId: "other-chain"))) == .wrongChain)
    }

    @Test func proofByAnotherKeyIsRefused() throws {
        // Mallory claims alice's key but can only sign with her own.
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        _ = try #require(sent(bob.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7))))
        let forged = fixture.mallory.sign(PeerProof.signingBytes(chainId: HandshakeFixture.chainId, channelBinding: HandshakeFixture.binding, verifierChallenge: HandshakeFixture.challenge(0xb1), proverKey: fixture.alice.publicKey, verifierKey: fixture.bob.publicKey))
        #expect(refusal(bob.frameReceived(Frame(kind: .proof, payload: PeerProof(signature: forged).canonicalBytes))) == .badProof)
    }

    @Test func proofMadeOnAnotherEncryptedLinkIsRefused() throws {
        // A man in the middle holds two links (one to each side), so their channel bindings
        // differ: alice's genuine proof, relayed from her link to bob's, does not verify there.
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        _ = try #require(sent(bob.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7))))
        let otherLink = [UInt8](repeating: 0x77, count: 32)
        let relayed = fixture.alice.sign(PeerProof.signingBytes(chainId: HandshakeFixture.chainId, channelBinding: otherLink, verifierChallenge: HandshakeFixture.challenge(0xb1), proverKey: fixture.alice.publicKey, verifierKey: fixture.bob.publicKey))
        #expect(refusal(bob.frameReceived(Frame(kind: .proof, payload: PeerProof(signature: relayed).canonicalBytes))) == .badProof)
    }

    @Test func proofReplayedFromAnotherSessionIsRefused() throws {
        var alice = fixture.machine(fixture.alice, allowing: [fixture.bob], challenge: 0xa1)
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        let first = try handshake(alice: &alice, bob: &bob)
        #expect(bob.frameReceived(first.aliceProof) == .authenticated(fixture.alice.publicKey))

        // A recorded session replayed to bob's next connection, which has a fresh challenge.
        var bobAgain = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb2)
        _ = bobAgain.connected(channelBinding: HandshakeFixture.binding)
        _ = try #require(sent(bobAgain.frameReceived(first.aliceHello)))
        #expect(refusal(bobAgain.frameReceived(first.aliceProof)) == .badProof)
    }

    @Test func proofMadeForAnotherPeerOrChainIsRefused() throws {
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        _ = try #require(sent(bob.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7))))
        // Signed by alice over bob's challenge, but addressed to mallory: relaying it fails.
        let relayed = fixture.alice.sign(PeerProof.signingBytes(chainId: HandshakeFixture.chainId, channelBinding: HandshakeFixture.binding, verifierChallenge: HandshakeFixture.challenge(0xb1), proverKey: fixture.alice.publicKey, verifierKey: fixture.mallory.publicKey))
        var relayedBob = bob
        #expect(refusal(relayedBob.frameReceived(Frame(kind: .proof, payload: PeerProof(signature: relayed).canonicalBytes))) == .badProof)
        let otherChain = fixture.alice.sign(PeerProof.signingBytes(chainId: "other-chain", channelBinding: HandshakeFixture.binding, verifierChallenge: HandshakeFixture.challenge(0xb1), proverKey: fixture.alice.publicKey, verifierKey: fixture.bob.publicKey))
        #expect(refusal(bob.frameReceived(Frame(kind: .proof, payload: PeerProof(signature: otherChain).canonicalBytes))) == .badProof)
    }

    @Test func alreadyConnectedKeyIsRefusedAfterItsProof() throws {
        var alice = fixture.machine(fixture.alice, allowing: [fixture.bob], challenge: 0xa1)
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1, connected: [fixture.alice.publicKey])
        let frames = try handshake(alice: &alice, bob: &bob)
        #expect(refusal(bob.frameReceived(frames.aliceProof)) == .duplicateConnection)
    }

    @Test func ownKeyIsRefused() throws {
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice, fixture.bob], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        #expect(refusal(bob.frameReceived(fixture.hello(fixture.bob.publicKey, challenge: 7))) == .duplicateConnection)
    }

    @Test func messagesOutOfOrderAreRefused() throws {
        let application = Frame(kind: FrameKind(rawValue: 16), payload: [])
        var idle = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        #expect(refusal(idle.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7))) == .unexpectedMessage)

        var twice = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = twice.connected(channelBinding: HandshakeFixture.binding)
        #expect(refusal(twice.connected(channelBinding: HandshakeFixture.binding)) == .unexpectedMessage)

        for early in [Frame(kind: .proof, payload: PeerProof(signature: Signature([UInt8](repeating: 0, count: 64))!).canonicalBytes), application] {
            var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
            _ = bob.connected(channelBinding: HandshakeFixture.binding)
            #expect(refusal(bob.frameReceived(early)) == .unexpectedMessage)
        }

        for instead in [fixture.hello(fixture.alice.publicKey, challenge: 8), application] {
            var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
            _ = bob.connected(channelBinding: HandshakeFixture.binding)
            _ = try #require(sent(bob.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7))))
            #expect(refusal(bob.frameReceived(instead)) == .unexpectedMessage)
        }

        var alice = fixture.machine(fixture.alice, allowing: [fixture.bob], challenge: 0xa1)
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        let frames = try handshake(alice: &alice, bob: &bob)
        #expect(bob.frameReceived(frames.aliceProof) == .authenticated(fixture.alice.publicKey))
        var replayedHello = bob
        #expect(refusal(replayedHello.frameReceived(frames.aliceHello)) == .unexpectedMessage)
        #expect(refusal(bob.frameReceived(frames.aliceProof)) == .unexpectedMessage)
    }

    @Test func malformedHandshakeMessagesAreRefused() throws {
        let good = fixture.hello(fixture.alice.publicKey, challenge: 7).payload
        var invalidKey = good
        // The key starts after the chain id (4-byte length + 10 bytes); the all-zero encoding
        // is a small-order point, which the strict decoder refuses.
        invalidKey.replaceSubrange(14..<46, with: [UInt8](repeating: 0, count: 32))
        for payload in [good + [0], Array(good.dropLast()), invalidKey, []] {
            var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
            _ = bob.connected(channelBinding: HandshakeFixture.binding)
            #expect(refusal(bob.frameReceived(Frame(kind: .hello, payload: payload))) == .malformedMessage)
        }
        for payload in [[UInt8](repeating: 0, count: 63), [UInt8](repeating: 0, count: 65)] {
            var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
            _ = bob.connected(channelBinding: HandshakeFixture.binding)
            _ = try #require(sent(bob.frameReceived(fixture.hello(fixture.alice.publicKey, challenge: 7))))
            #expect(refusal(bob.frameReceived(Frame(kind: .proof, payload: payload))) == .malformedMessage)
        }
    }

    @Test func handshakeTimeoutRefusesAnUnfinishedHandshake() throws {
        var bob = fixture.machine(fixture.bob, allowing: [fixture.alice], challenge: 0xb1)
        _ = bob.connected(channelBinding: HandshakeFixture.binding)
        #expect(refusal(bob.handshakeTimedOut()) == .handshakeTimeout)
    }

    @Test func signingBytesLayout() {
        let bytes = PeerProof.signingBytes(chainId: "c", channelBinding: HandshakeFixture.binding, verifierChallenge: HandshakeFixture.challenge(9), proverKey: fixture.alice.publicKey, verifierKey: fixture.bob.publicKey)
        let prefix = Array("KIZUNA/PEER/V1".utf8) + [0]
        #expect(Array(bytes.prefix(15)) == prefix)
        #expect(Array(bytes[15..<20]) == [0, 0, 0, 1, UInt8(ascii: "c")])
        #expect(Array(bytes[20..<52]) == HandshakeFixture.binding)
        #expect(Array(bytes[52..<84]) == HandshakeFixture.challenge(9))
        #expect(Array(bytes[84..<116]) == fixture.alice.publicKey.bytes)
        #expect(Array(bytes[116..<148]) == fixture.bob.publicKey.bytes)
        #expect(bytes.count == 148)
    }
}
