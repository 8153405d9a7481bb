public import KizunaCore

/// Limits on the handshake, unit last.
public enum HandshakeLimits {
    /// Length of the random challenge each side sends.
    public static let challengeBytes = 32
}

/// The handshake's opening message, sent by each side as soon as the connection is up.
///
/// Encoding (canonical): chain id (string, ≤ 64 bytes) ‖ public key (32) ‖ challenge (32).
public struct PeerHello: Hashable, Sendable, CanonicalCodable {
    public var chainId: String
    public var publicKey: PublicKey
    /// 32 random bytes chosen by the sender for this connection only.
    public var challenge: [UInt8]

    public init(chainId: String, publicKey: PublicKey, challenge: [UInt8]) {
        precondition(challenge.count == HandshakeLimits.challengeBytes, "a challenge is 32 bytes")
        self.chainId = chainId
        self.publicKey = publicKey
        self.challenge = challenge
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(chainId)
        encoder.encode(publicKey)
        encoder.encodeFixed(challenge)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        chainId = try decoder.decodeString(maxBytes: TransactionLimits.chainIdBytesMax)
        publicKey = try decoder.decode(PublicKey.self)
        challenge = try decoder.decodeFixed(HandshakeLimits.challengeBytes)
    }
}

/// The handshake's second message: a signature proving the sender holds the key it named.
///
/// Encoding (canonical): signature (64).
public struct PeerProof: Hashable, Sendable, CanonicalCodable {
    public var signature: Signature

    public init(signature: Signature) { self.signature = signature }

    public func encode(to encoder: inout Encoder) { encoder.encode(signature) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        signature = try decoder.decode(Signature.self)
    }

    /// The bytes a peer signs to prove it holds `proverKey` to the peer holding `verifierKey`:
    /// `"KIZUNA/PEER/V1" 00 ‖ chain id (u32 length ‖ UTF-8) ‖ channel binding (32) ‖ the
    /// verifier's challenge (32) ‖ the prover's key (32) ‖ the verifier's key (32)`.
    ///
    /// The verifier's fresh challenge makes a proof good for one connection only; the chain id
    /// stops a proof crossing chains; naming both keys, prover first, stops a proof made for
    /// one peer being relayed to another or reflected back; the channel binding of the
    /// encrypted link (`SecureLinkKeys`) ties the proof to the link's keys, so a proof relayed
    /// by a man in the middle (who holds two different links) fails on the other link.
    public static func signingBytes(chainId: String, channelBinding: [UInt8], verifierChallenge: [UInt8], proverKey: PublicKey, verifierKey: PublicKey) -> [UInt8] {
        precondition(verifierChallenge.count == HandshakeLimits.challengeBytes, "a challenge is 32 bytes")
        precondition(channelBinding.count == SecureLinkLimits.channelBindingBytes, "a channel binding is 32 bytes")
        var encoder = Encoder()
        encoder.encodeFixed(HashDomain.peerChallenge.prefix)
        encoder.encode(chainId)
        encoder.encodeFixed(channelBinding)
        encoder.encodeFixed(verifierChallenge)
        encoder.encode(proverKey)
        encoder.encode(verifierKey)
        return encoder.bytes
    }
}
