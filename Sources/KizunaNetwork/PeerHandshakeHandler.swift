public import KizunaCore
public import NIOCore

/// A frame from a peer whose key the handshake verified: the type says what was checked.
public struct AuthenticatedFrame: Hashable, Sendable {
    /// The key the peer proved it holds.
    public let peerKey: PublicKey
    public let frame: Frame

    public init(peerKey: PublicKey, frame: Frame) {
        self.peerKey = peerKey
        self.frame = frame
    }
}

/// Fired down the pipeline (as a user inbound event) when the peer is authenticated.
public struct PeerAuthenticatedEvent: Hashable, Sendable {
    public let peerKey: PublicKey
}

/// Limits on a peer connection, unit last.
public enum PeerConnectionLimits {
    /// Frames the layers above may write before the handshake finishes; more fail.
    public static let pendingFramesMaxDefault = 64
    /// How long the handshake may take before the connection is closed.
    public static let handshakeTimeoutMillisecondsDefault: Int64 = 10_000
}

/// Runs `HandshakeStateMachine` over the frame codec, then passes authenticated frames up.
/// It starts when the encrypted link below is up (`SecureLinkEstablishedEvent`).
///
/// Inbound it reads `Frame`s (from `FrameByteToMessageDecoder`) and passes up only
/// `AuthenticatedFrame`s; outbound it takes `Frame`s from the layers above, holding at most
/// `pendingFramesMax` of them until the peer is authenticated. A refusal (or any error,
/// such as an oversize frame) is fired through `errorCaught` as a `PeerError`, and the
/// connection is closed. The handler only performs the machine's actions.
///
/// ```swift
/// try channel.pipeline.syncOperations.addPeerHandlers(configuration: configuration,
///     challenge: PeerHandshakeHandler.randomChallenge(), isAlreadyConnected: { registry.contains($0) })
/// ```
public final class PeerHandshakeHandler: ChannelDuplexHandler, StartsWhenChannelActive {
    public typealias InboundIn = Frame
    public typealias InboundOut = AuthenticatedFrame
    public typealias OutboundIn = Frame
    public typealias OutboundOut = Frame

    private var machine: HandshakeStateMachine
    private let handshakeTimeout: TimeAmount
    private let pendingFramesMax: Int
    private var pendingFrames: [(Frame, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false
    private var timeout: Scheduled<Void>?
    private var started = false

    /// - Parameters:
    ///   - configuration: chain id, this node's key, the allowed peer keys.
    ///   - challenge: 32 fresh random bytes for this connection (`randomChallenge()`).
    ///   - expectedPeerKey: for an outgoing connection, the key configured for that address.
    ///   - isAlreadyConnected: whether an authenticated connection to this key exists already.
    public init(configuration: HandshakeConfiguration, challenge: [UInt8], expectedPeerKey: PublicKey? = nil,
                isAlreadyConnected: @escaping @Sendable (PublicKey) -> Bool,
                handshakeTimeout: TimeAmount = .milliseconds(PeerConnectionLimits.handshakeTimeoutMillisecondsDefault),
                pendingFramesMax: Int = PeerConnectionLimits.pendingFramesMaxDefault) {
        precondition(pendingFramesMax >= 0)
        machine = HandshakeStateMachine(configuration: configuration, challenge: challenge,
                                        expectedPeerKey: expectedPeerKey, isAlreadyConnected: isAlreadyConnected)
        self.handshakeTimeout = handshakeTimeout
        self.pendingFramesMax = pendingFramesMax
    }

    /// 32 bytes from the system's cryptographically secure generator.
    public static func randomChallenge() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<HandshakeLimits.challengeBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// The authenticated peer's key, once there is one.
    public var peerKey: PublicKey? { machine.peerKey }

    /// The clock starts when the connection is up: the link's key exchange counts toward the
    /// handshake's time.
    public func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { [self] in
            perform(machine.handshakeTimedOut(), context: context)
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let link = event as? SecureLinkEstablishedEvent {
            start(context: context)
            perform(machine.connected(channelBinding: link.channelBinding), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.frameReceived(unwrapInboundIn(data)), context: context)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(failingPendingWith: error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        finish(failingPendingWith: ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        guard !frame.kind.isHandshake else {
            promise?.fail(PeerError(.unexpectedMessage, "\(frame.kind) is reserved for the handshake"))
            return
        }
        switch machine.state {
        case .authenticated:
            context.write(wrapOutboundOut(frame), promise: promise)
        case .refused(let error):
            promise?.fail(error)
        case .idle, .awaitingHello, .awaitingProof:
            guard pendingFrames.count < pendingFramesMax else {
                promise?.fail(PeerError(.pendingFramesFull, "more than \(pendingFramesMax) frames written before the handshake finished"))
                return
            }
            pendingFrames.append((frame, promise))
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if case .authenticated = machine.state {
            context.flush()
        } else {
            pendingFlush = true
        }
    }

    private func perform(_ action: HandshakeStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .send(let frame):
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        case .authenticated(let peerKey):
            timeout?.cancel()
            timeout = nil
            context.fireUserInboundEventTriggered(PeerAuthenticatedEvent(peerKey: peerKey))
            let frames = pendingFrames
            pendingFrames = []
            for (frame, promise) in frames { context.write(wrapOutboundOut(frame), promise: promise) }
            if pendingFlush || !frames.isEmpty { context.flush() }
            pendingFlush = false
        case .deliver(let frame):
            guard let peerKey = machine.peerKey else { preconditionFailure("delivered a frame before authentication") }
            context.fireChannelRead(wrapInboundOut(AuthenticatedFrame(peerKey: peerKey, frame: frame)))
        case .refuse(let error):
            finish(failingPendingWith: error)
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    private func finish(failingPendingWith error: any Error) {
        timeout?.cancel()
        timeout = nil
        let frames = pendingFrames
        pendingFrames = []
        for (_, promise) in frames { promise?.fail(error) }
    }
}

@available(*, unavailable)
extension PeerHandshakeHandler: Sendable {}

extension ChannelPipeline.SynchronousOperations {
    /// Adds the encrypted link, the frame decoder, the frame encoder and the handshake
    /// handler: after them the pipeline carries `AuthenticatedFrame` inbound and `Frame`
    /// outbound, and every byte on the socket is encrypted — unless `plainLinkForDevelopment`
    /// (`PlainLinkHandler`: a benchmark's baseline on a local chain, never in production).
    public func addPeerHandlers(configuration: HandshakeConfiguration, challenge: [UInt8], expectedPeerKey: PublicKey? = nil,
                                isAlreadyConnected: @escaping @Sendable (PublicKey) -> Bool,
                                frameBytesMax: Int = FrameLimits.frameBytesMaxDefault,
                                handshakeTimeout: TimeAmount = .milliseconds(PeerConnectionLimits.handshakeTimeoutMillisecondsDefault),
                                plainLinkForDevelopment: Bool = false) throws {
        if plainLinkForDevelopment {
            try addHandler(PlainLinkHandler())
        } else {
            try addHandler(SecureLinkHandler())
        }
        try addHandler(ByteToMessageHandler(FrameByteToMessageDecoder(frameBytesMax: frameBytesMax)))
        try addHandler(MessageToByteHandler(FrameMessageToByteEncoder(frameBytesMax: frameBytesMax)))
        try addHandler(PeerHandshakeHandler(configuration: configuration, challenge: challenge, expectedPeerKey: expectedPeerKey,
                                            isAlreadyConnected: isAlreadyConnected, handshakeTimeout: handshakeTimeout))
    }
}
