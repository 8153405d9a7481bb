public import Crypto
public import Foundation
import Synchronization

/// An Ed25519 public key: an account address, a validator key or an authority key.
public struct PublicKey: Hashable, Sendable, Comparable, CanonicalCodable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    /// Wraps 32 bytes that form a valid Ed25519 public key; nil otherwise.
    /// swift-crypto only checks the length, so the point itself is checked by `Ed25519Point`:
    /// canonical, on the curve, and not one of the 8 small-order points.
    public init?(_ bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == PublicKey.byteCount else { return nil }
        if ValidatedKeys.shared.contains(bytes) {
            self.bytes = bytes
            return
        }
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)) != nil,
              Ed25519Point.isValidEncoding(bytes) else { return nil }
        ValidatedKeys.shared.insert(bytes)
        self.bytes = bytes
    }

    /// A key computed from a private key (valid by construction).
    init(derived bytes: [UInt8]) {
        precondition(bytes.count == PublicKey.byteCount)
        self.bytes = bytes
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        let raw = try decoder.decodeFixed(PublicKey.byteCount)
        if decoder.keysAlreadyValidated {
            self.bytes = raw
            return
        }
        guard let key = PublicKey(raw) else {
            throw DecodingError(.invalidKey, "not a valid Ed25519 public key", offset: start)
        }
        self = key
    }

    public func encode(to encoder: inout Encoder) { encoder.encodeFixed(bytes) }

    /// Verifies an Ed25519 signature by this key over `message`.
    public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else { return false }
        return key.isValidSignature(signature.bytes, for: message)
    }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// The text form with checksum, e.g. `kz1…` (see `Address`).
    public var address: Address { Address(publicKey: self) }
}

/// Keys this process has already found valid. The same few thousand account keys arrive again
/// and again (in every transaction, its gossip and the block that commits it), and checking a
/// point costs a square root in the field; a valid encoding stays valid, so only successes are
/// kept. Bounded: when full it starts over (the keys in use refill it at once).
final class ValidatedKeys: Sendable {
    static let shared = ValidatedKeys(capacity: 1 << 17)
    let capacity: Int
    private let keys = Mutex<Set<ByteKey>>([])

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ bytes: [UInt8]) -> Bool { keys.withLock { $0.contains(ByteKey(bytes)) } }

    func insert(_ bytes: [UInt8]) {
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys.insert(ByteKey(bytes))
        }
    }

    var count: Int { keys.withLock { $0.count } }
}

/// An Ed25519 signature: 64 bytes.
public struct Signature: Hashable, Sendable, CanonicalCodable {
    public static let byteCount = 64
    public let bytes: [UInt8]

    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Signature.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        bytes = try decoder.decodeFixed(Signature.byteCount)
    }

    public func encode(to encoder: inout Encoder) { encoder.encodeFixed(bytes) }
}

/// An Ed25519 private key. Keep it off the chain, off the logs, and out of commits.
public struct PrivateKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() { key = Curve25519.Signing.PrivateKey() }

    /// A key from its 32-byte seed.
    public init?(seed: [UInt8]) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else { return nil }
        self.key = key
    }

    /// The 32-byte seed. Only for writing a key file.
    public var seed: [UInt8] { Array(key.rawRepresentation) }

    /// Derived from the private key, so always a valid point: no point check (≈ 60 µs).
    public var publicKey: PublicKey { PublicKey(derived: Array(key.publicKey.rawRepresentation)) }

    /// Signs `message` with Ed25519.
    public func sign(_ message: [UInt8]) -> Signature {
        // Signing with a valid key only fails on allocation failure; treat as fatal.
        let raw = try! key.signature(for: message)
        return Signature(Array(raw))!
    }
}
