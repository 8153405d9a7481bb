import FuzzSupport
import KizunaCore
import KizunaNetwork
import NIOCore

// Fuzzes the peer frame decoder (FrameCodec.swift) on a byte stream cut into chunks.
// Byte 0 picks the frame size limit, byte 1 how the stream is cut; the rest is the stream.
// Properties: the frames and the error do not depend on how the stream arrives (all at once,
// in chunks, or through the static `decodeFrame` the NIO handler uses); the frames re-encode
// to exactly the bytes consumed; the bytes left buffered are the rest; a failed decoder stays
// failed; no frame is larger than the limit.

let frameLimits = [1, 2, 5, 16, 64, 300, 4096, FrameLimits.frameBytesMaxDefault]

/// Every frame until the first error or until more bytes are needed.
func drain(_ decoder: inout FrameDecoder, into frames: inout [Frame]) -> PeerError? {
    do throws(PeerError) {
        while let frame = try decoder.next() { frames.append(frame) }
        return nil
    } catch {
        return error
    }
}

func fuzzFrame(_ input: [UInt8]) {
    guard input.count >= 2 else { return }
    let frameBytesMax = frameLimits[Int(input[0]) % frameLimits.count]
    let cut = Int(input[1])
    let stream = Array(input[2...])

    var whole = FrameDecoder(frameBytesMax: frameBytesMax)
    whole.feed(stream)
    var frames: [Frame] = []
    let error = drain(&whole, into: &frames)

    var chunked = FrameDecoder(frameBytesMax: frameBytesMax)
    var chunkedFrames: [Frame] = []
    var chunkedError: PeerError?
    var position = 0
    var chunkIndex = 0
    while position < stream.count && chunkedError == nil {
        // Chunk lengths 1…8 in a pattern the input picks.
        let length = min(1 + (cut >> (chunkIndex % 6) + chunkIndex) % 8, stream.count - position)
        chunked.feed(stream[position..<(position + length)])
        position += length
        chunkIndex += 1
        chunkedError = drain(&chunked, into: &chunkedFrames)
    }
    fuzzCheck(chunkedFrames == frames, "chunked decoding gives other frames")
    fuzzCheck(chunkedError?.code == error?.code, "chunked decoding gives another error")

    var buffer = ByteBuffer(bytes: stream)
    var bufferFrames: [Frame] = []
    var bufferError: PeerError?
    while true {
        do throws(PeerError) {
            guard let frame = try FrameDecoder.decodeFrame(from: &buffer, frameBytesMax: frameBytesMax) else { break }
            bufferFrames.append(frame)
        } catch {
            bufferError = error
            break
        }
    }
    fuzzCheck(bufferFrames == frames, "decodeFrame gives other frames")
    fuzzCheck(bufferError?.code == error?.code, "decodeFrame gives another error")

    let encoder = FrameEncoder(frameBytesMax: frameBytesMax)
    var consumed: [UInt8] = []
    for frame in frames {
        fuzzCheck(frame.lengthFieldValue <= frameBytesMax, "a frame over the limit was decoded")
        guard let bytes = try? encoder.encode(frame) else {
            fuzzCheck(false, "a decoded frame does not encode")
            return
        }
        consumed += bytes
    }
    fuzzCheck(stream.starts(with: consumed), "the frames re-encode to other bytes")
    if let error {
        fuzzCheck(error.code == .frameEmpty || error.code == .frameTooLarge, "unexpected error \(error)")
        var again: PeerError?
        do throws(PeerError) {
            _ = try whole.next()
        } catch let next {
            again = next
        }
        fuzzCheck(again?.code == error.code, "a failed decoder did not fail again with the same error")
    } else {
        fuzzCheck(whole.bufferedByteCount == stream.count - consumed.count, "buffered \(whole.bufferedByteCount) bytes, expected \(stream.count - consumed.count)")
        fuzzCheck(buffer.readableBytes == stream.count - consumed.count, "decodeFrame left the wrong bytes")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzFrame(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzFrame_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
