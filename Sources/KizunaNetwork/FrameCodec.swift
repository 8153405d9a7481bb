public import NIOCore
import KizunaCore

/// Reads frames from a byte stream that arrives in arbitrary chunks.
///
/// A pure value: feed it bytes as they arrive and take out whole frames. A length above
/// `frameBytesMax` is refused as soon as its 4 bytes are present, so a peer cannot make the
/// node wait for (and buffer) an oversize body. After an error the decoder stays failed.
///
/// ```swift
/// var decoder = FrameDecoder()
/// decoder.feed(chunk)
/// while let frame = try decoder.next() { handle(frame) }
/// ```
public struct FrameDecoder: Sendable {
    /// The largest body (kind byte + payload) this decoder accepts.
    public let frameBytesMax: Int
    private var buffer: ByteBuffer
    private var failure: PeerError?

    public init(frameBytesMax: Int = FrameLimits.frameBytesMaxDefault) {
        precondition(frameBytesMax >= 1 && frameBytesMax <= Int(UInt32.max), "frameBytesMax must fit the 4-byte length")
        self.frameBytesMax = frameBytesMax
        self.buffer = ByteBuffer()
    }

    /// Bytes received but not yet returned as a frame.
    public var bufferedByteCount: Int { buffer.readableBytes }

    /// Appends received bytes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        buffer.writeBytes(bytes)
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next whole frame, or nil if more bytes are needed.
    /// - Throws: `peer.frame_too_large` or `peer.frame_empty` as soon as the length is read.
    public mutating func next() throws(PeerError) -> Frame? {
        if let failure { throw failure }
        do {
            let frame = try FrameDecoder.decodeFrame(from: &buffer, frameBytesMax: frameBytesMax)
            if frame != nil { buffer.discardReadBytes() }
            return frame
        } catch {
            failure = error
            throw error
        }
    }

    /// Takes one whole frame off the front of `buffer`, leaving it untouched if the frame is
    /// not complete yet. Shared by `FrameDecoder` and the NIO `FrameByteToMessageDecoder`.
    /// - Throws: `peer.frame_too_large` or `peer.frame_empty` as soon as the length is read.
    public static func decodeFrame(from buffer: inout ByteBuffer, frameBytesMax: Int) throws(PeerError) -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        guard length >= 1 else {
            throw PeerError(.frameEmpty, "frame length 0 leaves no room for the kind byte")
        }
        guard UInt64(length) <= UInt64(frameBytesMax) else {
            throw PeerError(.frameTooLarge, "frame length \(length) exceeds the maximum of \(frameBytesMax)")
        }
        let total = FrameLimits.lengthFieldBytes + Int(length)
        guard buffer.readableBytes >= total else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameLimits.lengthFieldBytes)
        let kind = buffer.readInteger(as: UInt8.self)!
        let payload = buffer.readBytes(length: Int(length) - 1)!
        return Frame(kind: FrameKind(rawValue: kind), payload: payload)
    }
}

/// Writes frames: the 4-byte big-endian length, the kind byte, the payload.
///
/// ```swift
/// let bytes = try FrameEncoder().encode(Frame(kind: .hello, payload: hello.canonicalBytes))
/// ```
public struct FrameEncoder: Sendable {
    /// The largest body (kind byte + payload) this encoder sends; the peer refuses larger.
    public let frameBytesMax: Int

    public init(frameBytesMax: Int = FrameLimits.frameBytesMaxDefault) {
        precondition(frameBytesMax >= 1 && frameBytesMax <= Int(UInt32.max), "frameBytesMax must fit the 4-byte length")
        self.frameBytesMax = frameBytesMax
    }

    /// The frame's bytes on the wire.
    /// - Throws: `peer.frame_too_large` if the peer would refuse the frame.
    public func encode(_ frame: Frame) throws(PeerError) -> [UInt8] {
        var buffer = ByteBuffer()
        try encode(frame, into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes)!
    }

    /// Appends the frame's bytes to `buffer`.
    /// - Throws: `peer.frame_too_large` if the peer would refuse the frame; nothing is written.
    public func encode(_ frame: Frame, into buffer: inout ByteBuffer) throws(PeerError) {
        let length = frame.lengthFieldValue
        guard length <= frameBytesMax else {
            throw PeerError(.frameTooLarge, "frame length \(length) exceeds the maximum of \(frameBytesMax)")
        }
        buffer.reserveCapacity(minimumWritableBytes: FrameLimits.lengthFieldBytes + length)
        buffer.writeInteger(UInt32(length), endianness: .big)
        buffer.writeInteger(frame.kind.rawValue)
        buffer.writeBytes(frame.payload)
    }
}
