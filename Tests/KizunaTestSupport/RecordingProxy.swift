public import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix

// Test support shared by KizunaNetworkTests and KizunaNodeTests (test targets cannot share
// sources): a recording TCP proxy for the encrypted-link tests (ADR 0008).

/// A TCP proxy on 127.0.0.1 that forwards to `target` and records every byte it forwards,
/// each direction apart; optionally it flips the last byte of the first chunk the dialer
/// sends at or past `tamperAtOffset` (an attacker on the path altering a record).
public final class RecordingProxy: Sendable {
    public let target: Int
    public let tamperAtOffset: Int?
    private let state = NIOLockedValueBox<(upstream: [UInt8], downstream: [UInt8], tampered: Bool, channel: (any Channel)?)>(([], [], false, nil))

    public init(target: Int, tamperAtOffset: Int? = nil) {
        self.target = target
        self.tamperAtOffset = tamperAtOffset
    }

    /// Bytes from the dialing node to the listening one.
    public var upstream: [UInt8] { state.withLockedValue { $0.upstream } }
    /// Bytes from the listening node to the dialing one.
    public var downstream: [UInt8] { state.withLockedValue { $0.downstream } }
    public var tampered: Bool { state.withLockedValue { $0.tampered } }

    /// Records (and perhaps alters) a chunk on its way; returns what to forward.
    func pass(_ buffer: ByteBuffer, upstream: Bool) -> ByteBuffer {
        var bytes = Array(buffer.readableBytesView)
        state.withLockedValue { state in
            if upstream {
                if let tamperAtOffset, !state.tampered, state.upstream.count >= tamperAtOffset, !bytes.isEmpty {
                    bytes[bytes.count - 1] ^= 0x01
                    state.tampered = true
                }
                state.upstream += bytes
            } else {
                state.downstream += bytes
            }
        }
        return ByteBuffer(bytes: bytes)
    }

    final class Forward: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let other: any Channel
        let proxy: RecordingProxy
        let isUpstream: Bool

        init(other: any Channel, proxy: RecordingProxy, isUpstream: Bool) {
            self.other = other
            self.proxy = proxy
            self.isUpstream = isUpstream
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            other.writeAndFlush(proxy.pass(unwrapInboundIn(data), upstream: isUpstream), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            other.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// Listens on 127.0.0.1 port 0; returns the port.
    public func start() async throws -> Int {
        let target = target
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] inbound in
                ClientBootstrap(group: inbound.eventLoop).connect(host: "127.0.0.1", port: target).flatMapThrowing { outbound in
                    try inbound.pipeline.syncOperations.addHandler(Forward(other: outbound, proxy: self, isUpstream: true))
                    try outbound.pipeline.syncOperations.addHandler(Forward(other: inbound, proxy: self, isUpstream: false))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        state.withLockedValue { $0.channel = channel }
        return channel.localAddress!.port!
    }

    public func stop() async {
        let channel = state.withLockedValue { $0.channel }
        try? await channel?.close()
    }
}

/// Whether `needle` occurs in `haystack`.
public func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}
