public import KizunaCore

/// Checks a validator's signature over consensus signing bytes. Nodes use `Ed25519Verifier`;
/// the simulator uses `SimulatedSignatureScheme` (see `docs/consensus.md`, §2.5).
public protocol ConsensusSignatureVerifier: Sendable {
    func isValidSignature(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool
}

/// Signs consensus signing bytes with one validator's key.
public protocol ConsensusKey: Sendable {
    var publicKey: PublicKey { get }
    func sign(_ message: [UInt8]) -> Signature
}

/// Real Ed25519 verification (what nodes use).
public struct Ed25519Verifier: ConsensusSignatureVerifier {
    public init() {}

    public func isValidSignature(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: message)
    }
}

/// A real Ed25519 validator key.
public struct Ed25519ConsensusKey: ConsensusKey {
    public let privateKey: PrivateKey

    public init(_ privateKey: PrivateKey) { self.privateKey = privateKey }

    public var publicKey: PublicKey { privateKey.publicKey }
    public func sign(_ message: [UInt8]) -> Signature { privateKey.sign(message) }
}

/// A cheap, deterministic, **insecure** stand-in for Ed25519, for the simulator only: the
/// "signature" is a keyed hash of the public key and the message, so anyone can forge it.
/// The simulated adversary never forges, so using it changes no outcome; it exists because
/// debug-build Ed25519 verification is too slow for seed campaigns.
public struct SimulatedSignatureScheme: ConsensusSignatureVerifier {
    public init() {}

    public func isValidSignature(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool {
        signature == Self.signature(key: key, message: message)
    }

    /// The stand-in signature of `key` over `message`.
    public static func signature(key: PublicKey, message: [UInt8]) -> Signature {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a offset basis
        for byte in key.bytes {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        for byte in message {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        var generator = SplitMix64(seed: state)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Signature.byteCount)
        for _ in 0..<(Signature.byteCount / 8) {
            let word = generator.next()
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return Signature(bytes)!
    }
}

/// A simulated validator key (see `SimulatedSignatureScheme`).
public struct SimulatedConsensusKey: ConsensusKey {
    public let publicKey: PublicKey

    public init(publicKey: PublicKey) { self.publicKey = publicKey }

    public func sign(_ message: [UInt8]) -> Signature {
        SimulatedSignatureScheme.signature(key: publicKey, message: message)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): the simulator's only source of randomness.
/// Deterministic for a seed on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0), by multiply-shift with rejection, so it is unbiased
    /// and does not depend on the standard library's algorithms.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let (high, low) = next().multipliedFullWidth(by: bound)
            if low >= threshold { return high }
        }
    }

    /// A value in `range` (inclusive).
    public mutating func inRange(_ range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `perMille / 1000`.
    public mutating func chance(perMille: UInt64) -> Bool {
        below(1000) < perMille
    }
}
