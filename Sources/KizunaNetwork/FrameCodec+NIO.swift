public import NIOCore
import KizunaCore

/// The frame decoder as a NIO `ByteToMessageDecoder`: wrap it in `ByteToMessageHandler`.
/// An oversize or empty length is raised through `errorCaught` as a `PeerError`.
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameByteToMessageDecoder()))
/// ```
public struct FrameByteToMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    public let frameBytesMax: Int

    public init(frameBytesMax: Int = FrameLimits.frameBytesMaxDefault) {
        precondition(frameBytesMax >= 1 && frameBytesMax <= Int(UInt32.max), "frameBytesMax must fit the 4-byte length")
        self.frameBytesMax = frameBytesMax
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try FrameDecoder.decodeFrame(from: &buffer, frameBytesMax: frameBytesMax) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // Whole frames still buffered are delivered; a partial frame at the end is dropped
        // with the connection.
        try decode(context: context, buffer: &buffer)
    }
}

/// The frame encoder as a NIO `MessageToByteEncoder`: wrap it in `MessageToByteHandler`.
/// A frame over `frameBytesMax` fails its write with `peer.frame_too_large`.
public struct FrameMessageToByteEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    private let encoder: FrameEncoder

    public init(frameBytesMax: Int = FrameLimits.frameBytesMaxDefault) {
        encoder = FrameEncoder(frameBytesMax: frameBytesMax)
    }

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        try encoder.encode(data, into: &out)
    }
}
