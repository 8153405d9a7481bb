import Crypto
public import Foundation
import KizunaCore
import KizunaNetwork
import NIOCore

/// The cost of the encrypted peer link (ADR 0008) on one core, without sockets: frames of
/// `frameBytes` encoded and decoded through the frame codec alone ("plain"), and through the
/// codec plus the link's ChaCha20-Poly1305 records, sealed by one side and opened by the other
/// ("encrypted"). Both sides' work is on this one thread, so the figure is per pair.
public struct LinkBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var frameBytes: Int
        public var frames: Int
        public var plainFramesPerSecond: Double
        public var encryptedFramesPerSecond: Double
        /// Extra microseconds per frame that the link costs (both ends together).
        public var microsecondsPerFrameAdded: Double
    }

    public var frameBytes: Int
    public var frames: Int

    public init(frameBytes: Int, frames: Int) {
        self.frameBytes = frameBytes
        self.frames = frames
    }

    public func run() throws -> Result {
        let frame = Frame(kind: FrameKind(rawValue: 17), payload: (0..<frameBytes).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let encoder = FrameEncoder()
        let clock = ContinuousClock()

        var decoder = FrameDecoder()
        var checksum = 0
        let plain = try clock.measure {
            for _ in 0..<frames {
                var wire = ByteBuffer()
                try encoder.encode(frame, into: &wire)
                decoder.feed(wire)
                while let received = try decoder.next() { checksum &+= received.payload.count }
            }
        }

        let a = Curve25519.KeyAgreement.PrivateKey()
        let b = Curve25519.KeyAgreement.PrivateKey()
        let aKeys = try SecureLinkKeys(own: a, peerPublicKey: Array(b.publicKey.rawRepresentation))
        let bKeys = try SecureLinkKeys(own: b, peerPublicKey: Array(a.publicKey.rawRepresentation))
        var sealer = SecureLinkCipher(key: aKeys.sendKey)
        var opener = SecureLinkCipher(key: bKeys.receiveKey)
        var linkDecoder = FrameDecoder()
        let encrypted = try clock.measure {
            for _ in 0..<frames {
                var wire = ByteBuffer()
                try encoder.encode(frame, into: &wire)
                var records = ByteBuffer()
                try sealer.seal(wire, into: &records)
                while let plaintext = try opener.open(from: &records) { linkDecoder.feed(plaintext) }
                while let received = try linkDecoder.next() { checksum &+= received.payload.count }
            }
        }
        precondition(checksum == 2 * frames * frameBytes, "every frame came through")
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let plainRate = Double(frames) / seconds(plain)
        let encryptedRate = Double(frames) / seconds(encrypted)
        return Result(frameBytes: frameBytes, frames: frames, plainFramesPerSecond: plainRate, encryptedFramesPerSecond: encryptedRate,
                      microsecondsPerFrameAdded: (seconds(encrypted) - seconds(plain)) / Double(frames) * 1e6)
    }
}
