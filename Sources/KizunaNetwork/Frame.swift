/// The kind byte of a frame: what its payload is. Kinds 1–15 belong to the handshake;
/// layers above the transport name their own kinds from 16 up.
public struct FrameKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The handshake's opening message (`PeerHello`).
    public static let hello = FrameKind(rawValue: 1)
    /// The handshake's proof of key possession (`PeerProof`).
    public static let proof = FrameKind(rawValue: 2)

    /// True for the kinds the handshake reserves (1–15): an authenticated connection never
    /// carries them, and the layers above may not send them.
    public var isHandshake: Bool { rawValue >= 1 && rawValue <= 15 }

    public var description: String { "kind \(rawValue)" }
}

/// One message on a peer connection: a kind byte and the payload it describes.
///
/// On the wire: a 4-byte big-endian length `n` (1 ≤ n ≤ `frameBytesMax`), then the kind byte,
/// then `n − 1` payload bytes (see `docs/network.md`).
public struct Frame: Hashable, Sendable {
    public var kind: FrameKind
    public var payload: [UInt8]

    public init(kind: FrameKind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    /// The value of the length field: the kind byte plus the payload.
    public var lengthFieldValue: Int { 1 + payload.count }
}

/// Limits on peer frames, unit last.
public enum FrameLimits {
    /// Default largest frame body (kind byte + payload) accepted or sent: 9 MiB, above the
    /// largest consensus message (a proposal carrying a block of `BlockLimits.blockBytesMax`,
    /// 8 MiB, plus its envelope).
    public static let frameBytesMaxDefault = 9 * 1024 * 1024
    /// Bytes before the body: the 4-byte length.
    public static let lengthFieldBytes = 4
}
