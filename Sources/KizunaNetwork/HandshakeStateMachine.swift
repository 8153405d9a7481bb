public import KizunaCore
import NIOConcurrencyHelpers

/// What a node needs to authenticate its peers: its chain, its key and whom it accepts.
public struct HandshakeConfiguration: Sendable {
    public var chainId: String
    /// This node's key: it signs the proof.
    public var privateKey: PrivateKey
    /// The keys this node accepts: the validators and observers named in its configuration.
    public var allowedKeys: Set<PublicKey>
    /// Keys accepted besides, changed while the node runs: the validators governance puts in
    /// the set (ADR 0018), which no configuration file named.
    public var governedKeys: GovernedKeys?

    public init(chainId: String, privateKey: PrivateKey, allowedKeys: Set<PublicKey>, governedKeys: GovernedKeys? = nil) {
        self.chainId = chainId
        self.privateKey = privateKey
        self.allowedKeys = allowedKeys
        self.governedKeys = governedKeys
    }

    /// Whether a peer presenting `key` is accepted.
    public func accepts(_ key: PublicKey) -> Bool {
        allowedKeys.contains(key) || governedKeys?.contains(key) == true
    }
}

/// A set of keys shared between the consensus engine, which replaces it after every commit,
/// and the handshakes of the peer network, which read it.
public final class GovernedKeys: Sendable {
    private let keys = NIOLockedValueBox<Set<PublicKey>>([])

    public init(_ keys: Set<PublicKey> = []) { self.keys.withLockedValue { $0 = keys } }

    public func replace(with keys: Set<PublicKey>) { self.keys.withLockedValue { $0 = keys } }

    public func contains(_ key: PublicKey) -> Bool { keys.withLockedValue { $0.contains(key) } }
}

/// The peer handshake as a pure state machine (SwiftNIO style): each event returns the
/// `Action` its caller must perform. No I/O, no clock, no randomness: the challenge comes
/// from the caller.
///
/// Both sides run the same machine, inside the encrypted link (`SecureLinkHandler`): once the
/// link is up each sends `PeerHello`; on the peer's hello
/// each checks the chain and the key and answers with `PeerProof` over the peer's challenge;
/// on the peer's proof each verifies it and asks whether the key is already connected. Then
/// every frame is delivered as authenticated. Any refusal is final.
///
/// ```swift
/// var handshake = HandshakeStateMachine(configuration: configuration, challenge: random32,
///                                       isAlreadyConnected: { registry.contains($0) })
/// perform(handshake.connected(channelBinding: link.channelBinding)) // .send(hello)
/// perform(handshake.frameReceived(frame)) // .send(proof), .authenticated(key), .deliver(frame)…
/// ```
public struct HandshakeStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        /// Not connected yet.
        case idle
        /// Our hello is sent; waiting for the peer's.
        case awaitingHello(channelBinding: [UInt8])
        /// The peer's hello was acceptable and our proof is sent; waiting for the peer's proof.
        case awaitingProof(peerKey: PublicKey, channelBinding: [UInt8])
        /// The peer proved it holds `peerKey`.
        case authenticated(peerKey: PublicKey)
        /// Refused; the connection must be closed.
        case refused(PeerError)
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do.
        case none
        /// Send this frame to the peer.
        case send(Frame)
        /// The peer proved it holds this key: the connection is authenticated.
        case authenticated(PublicKey)
        /// An authenticated frame from the peer: pass it up.
        case deliver(Frame)
        /// Close the connection for this reason (log it).
        case refuse(PeerError)
    }

    public private(set) var state: State = .idle
    public let configuration: HandshakeConfiguration
    /// Our challenge for this connection; the peer's proof must sign it.
    public let challenge: [UInt8]
    /// The key the dialer expects at the address it dialed; nil when accepting.
    public let expectedPeerKey: PublicKey?
    private let isAlreadyConnected: @Sendable (PublicKey) -> Bool
    private let localKey: PublicKey

    /// - Parameters:
    ///   - configuration: chain id, this node's key, the allowed peer keys.
    ///   - challenge: 32 fresh random bytes for this connection (never reused).
    ///   - expectedPeerKey: for an outgoing connection, the key configured for that address.
    ///   - isAlreadyConnected: whether an authenticated connection to this key exists already.
    public init(configuration: HandshakeConfiguration, challenge: [UInt8], expectedPeerKey: PublicKey? = nil, isAlreadyConnected: @escaping @Sendable (PublicKey) -> Bool) {
        precondition(challenge.count == HandshakeLimits.challengeBytes, "a challenge is 32 bytes")
        self.configuration = configuration
        self.challenge = challenge
        self.expectedPeerKey = expectedPeerKey
        self.isAlreadyConnected = isAlreadyConnected
        self.localKey = configuration.privateKey.publicKey
    }

    /// The authenticated peer's key, once there is one.
    public var peerKey: PublicKey? {
        if case .authenticated(let key) = state { return key }
        return nil
    }

    /// The encrypted link is up (`SecureLinkEstablishedEvent`): send our hello. Both proofs
    /// sign `channelBinding`, the link's 32-byte binding.
    public mutating func connected(channelBinding: [UInt8]) -> Action {
        guard case .idle = state else {
            return refuse(PeerError(.unexpectedMessage, "connected twice"))
        }
        precondition(channelBinding.count == SecureLinkLimits.channelBindingBytes, "a channel binding is 32 bytes")
        state = .awaitingHello(channelBinding: channelBinding)
        let hello = PeerHello(chainId: configuration.chainId, publicKey: localKey, challenge: challenge)
        return .send(Frame(kind: .hello, payload: hello.canonicalBytes))
    }

    /// A whole frame arrived from the peer.
    public mutating func frameReceived(_ frame: Frame) -> Action {
        switch state {
        case .idle:
            return refuse(PeerError(.unexpectedMessage, "\(frame.kind) before the connection was up"))
        case .awaitingHello(let channelBinding):
            guard frame.kind == .hello else {
                return refuse(PeerError(.unexpectedMessage, "expected a hello, got \(frame.kind)"))
            }
            return helloReceived(frame.payload, channelBinding: channelBinding)
        case .awaitingProof(let peerKey, let channelBinding):
            guard frame.kind == .proof else {
                return refuse(PeerError(.unexpectedMessage, "expected a proof, got \(frame.kind)"))
            }
            return proofReceived(frame.payload, peerKey: peerKey, channelBinding: channelBinding)
        case .authenticated:
            guard !frame.kind.isHandshake else {
                return refuse(PeerError(.unexpectedMessage, "handshake \(frame.kind) after authentication"))
            }
            return .deliver(frame)
        case .refused:
            // Already refused: the connection is closing; ignore what is still in flight.
            return .none
        }
    }

    /// The handshake did not finish in time (the caller owns the clock).
    public mutating func handshakeTimedOut() -> Action {
        switch state {
        case .idle, .awaitingHello, .awaitingProof:
            return refuse(PeerError(.handshakeTimeout, "the handshake did not finish in time"))
        case .authenticated, .refused:
            return .none
        }
    }

    private mutating func helloReceived(_ payload: [UInt8], channelBinding: [UInt8]) -> Action {
        let hello: PeerHello
        do {
            hello = try PeerHello(canonicalBytes: payload)
        } catch {
            return refuse(PeerError(.malformedMessage, "hello: \(error)"))
        }
        guard hello.chainId == configuration.chainId else {
            return refuse(PeerError(.wrongChain, "peer is on chain \(hello.chainId), this node on \(configuration.chainId)"))
        }
        guard configuration.accepts(hello.publicKey) else {
            return refuse(PeerError(.unknownKey, "key \(hello.publicKey.address) is not in the allowed set"))
        }
        if let expectedPeerKey, hello.publicKey != expectedPeerKey {
            return refuse(PeerError(.unknownKey, "key \(hello.publicKey.address) is not the key \(expectedPeerKey.address) configured for this address"))
        }
        guard hello.publicKey != localKey else {
            return refuse(PeerError(.duplicateConnection, "the peer presents this node's own key"))
        }
        state = .awaitingProof(peerKey: hello.publicKey, channelBinding: channelBinding)
        let message = PeerProof.signingBytes(chainId: configuration.chainId, channelBinding: channelBinding, verifierChallenge: hello.challenge, proverKey: localKey, verifierKey: hello.publicKey)
        let proof = PeerProof(signature: configuration.privateKey.sign(message))
        return .send(Frame(kind: .proof, payload: proof.canonicalBytes))
    }

    private mutating func proofReceived(_ payload: [UInt8], peerKey: PublicKey, channelBinding: [UInt8]) -> Action {
        let proof: PeerProof
        do {
            proof = try PeerProof(canonicalBytes: payload)
        } catch {
            return refuse(PeerError(.malformedMessage, "proof: \(error)"))
        }
        let message = PeerProof.signingBytes(chainId: configuration.chainId, channelBinding: channelBinding, verifierChallenge: challenge, proverKey: peerKey, verifierKey: localKey)
        guard peerKey.isValidSignature(proof.signature, for: message) else {
            return refuse(PeerError(.badProof, "proof by \(peerKey.address) does not verify for this connection"))
        }
        // Asked only after the proof verifies, so an impostor learns nothing about who is connected.
        guard !isAlreadyConnected(peerKey) else {
            return refuse(PeerError(.duplicateConnection, "key \(peerKey.address) is already connected"))
        }
        state = .authenticated(peerKey: peerKey)
        return .authenticated(peerKey)
    }

    private mutating func refuse(_ error: PeerError) -> Action {
        state = .refused(error)
        return .refuse(error)
    }
}
