import KizunaCore
import KizunaNetwork
import NIOCore
import NIOEmbedded
import Testing

@Suite struct FrameCodecTests {
    /// A few frames of different shapes: empty payload, short, longer, a high kind byte.
    let frames: [Frame] = [
        Frame(kind: .hello, payload: []),
        Frame(kind: .proof, payload: [1, 2, 3]),
        Frame(kind: FrameKind(rawValue: 16), payload: Array(0..<40)),
        Frame(kind: FrameKind(rawValue: 255), payload: [0xff]),
    ]

    var wire: [UInt8] { frames.flatMap { try! FrameEncoder().encode($0) } }

    @Test func encodesLengthKindPayload() throws {
        #expect(try FrameEncoder().encode(Frame(kind: .proof, payload: [0xaa, 0xbb])) == [0, 0, 0, 3, 2, 0xaa, 0xbb])
        #expect(try FrameEncoder().encode(Frame(kind: .hello, payload: [])) == [0, 0, 0, 1, 1])
    }

    /// Drains every whole frame currently decodable.
    func drain(_ decoder: inout FrameDecoder) throws -> [Frame] {
        var result: [Frame] = []
        while let frame = try decoder.next() { result.append(frame) }
        return result
    }

    @Test func decodesAcrossEverySplitPoint() throws {
        let wire = self.wire
        for split in 0...wire.count {
            var decoder = FrameDecoder()
            decoder.feed(wire[..<split])
            var decoded = try drain(&decoder)
            decoder.feed(wire[split...])
            decoded += try drain(&decoder)
            #expect(decoded == frames, "split at \(split)")
            #expect(decoder.bufferedByteCount == 0)
        }
    }

    @Test func decodesAcrossEveryPairOfSplitPoints() throws {
        let wire = self.wire
        for first in 0...wire.count {
            for second in first...wire.count {
                var decoder = FrameDecoder()
                var decoded: [Frame] = []
                for chunk in [wire[..<first], wire[first..<second], wire[second...]] {
                    decoder.feed(chunk)
                    decoded += try drain(&decoder)
                }
                #expect(decoded == frames, "splits at \(first), \(second)")
            }
        }
    }

    @Test func decodesByteByByte() throws {
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in wire {
            decoder.feed([byte])
            decoded += try drain(&decoder)
        }
        #expect(decoded == frames)
    }

    @Test func oversizeLengthIsRefusedAsSoonAsItIsRead() throws {
        var decoder = FrameDecoder(frameBytesMax: 8)
        decoder.feed([0, 0, 0])
        #expect(try decoder.next() == nil)
        decoder.feed([9])  // length 9 > 8: no body byte has arrived yet
        #expect(throws: PeerError(.frameTooLarge, "")) { try decoder.next() }
        // The decoder stays failed: later bytes are not parsed as a new frame.
        decoder.feed([0, 0, 0, 1, 1])
        #expect(throws: PeerError(.frameTooLarge, "")) { try decoder.next() }

        // The largest length the format allows is refused by the default limit, too.
        var defaultDecoder = FrameDecoder()
        defaultDecoder.feed([0xff, 0xff, 0xff, 0xff])
        #expect(throws: PeerError(.frameTooLarge, "")) { try defaultDecoder.next() }
    }

    @Test func frameAtTheLimitIsAccepted() throws {
        let frame = Frame(kind: .hello, payload: [UInt8](repeating: 7, count: 7))
        let bytes = try FrameEncoder(frameBytesMax: 8).encode(frame)
        var decoder = FrameDecoder(frameBytesMax: 8)
        decoder.feed(bytes)
        #expect(try decoder.next() == frame)
        #expect(throws: PeerError(.frameTooLarge, "")) {
            try FrameEncoder(frameBytesMax: 7).encode(frame)
        }
    }

    @Test func emptyLengthIsRefused() throws {
        var decoder = FrameDecoder()
        decoder.feed([0, 0, 0, 0])
        #expect(throws: PeerError(.frameEmpty, "")) { try decoder.next() }
    }

    @Test func errorCodesAreStable() {
        #expect(PeerError.Code.frameTooLarge.rawValue == "peer.frame_too_large")
        #expect(PeerError.Code.frameEmpty.rawValue == "peer.frame_empty")
    }

    // MARK: - NIO adapters

    @Test func byteToMessageDecoderDeliversFramesFromPartialReads() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameByteToMessageDecoder()))
        let wire = self.wire
        for split in stride(from: 0, through: wire.count, by: 3) {
            let end = min(split + 3, wire.count)
            guard split < end else { continue }
            try channel.writeInbound(ByteBuffer(bytes: wire[split..<end]))
        }
        var decoded: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { decoded.append(frame) }
        #expect(decoded == frames)
        #expect(try channel.finish().isClean)
    }

    @Test func byteToMessageDecoderRaisesOversizeFromTheHeader() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameByteToMessageDecoder(frameBytesMax: 16)))
        #expect(throws: PeerError(.frameTooLarge, "")) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 17]))
        }
        #expect(try channel.readInbound(as: Frame.self) == nil)
        _ = try? channel.finish()
    }

    @Test func messageToByteEncoderWritesTheWireFormat() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameMessageToByteEncoder()))
        for frame in frames { try channel.writeOutbound(frame) }
        var bytes: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readBytes(length: buffer.readableBytes)!
        }
        #expect(bytes == wire)
        #expect(try channel.finish().isClean)
    }
}
