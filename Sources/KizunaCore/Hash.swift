public import Crypto
public import Foundation

/// A SHA-256 digest: 32 bytes. Compares and orders as unsigned bytes.
public struct Hash: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let byteCount = 32
    /// The all-zero hash: "no value" (e.g. the parent of the first block).
    public static let zero = Hash(unchecked: [UInt8](repeating: 0, count: 32))

    public let bytes: [UInt8]

    /// Wraps 32 bytes; returns nil for any other length.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Hash.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == Hash.byteCount)
        self.bytes = bytes
    }

    /// SHA-256 of bytes. A concrete overload: the generic one below is several times slower
    /// across the module boundary.
    public static func sha256(_ data: [UInt8]) -> Hash {
        Hash(unchecked: Array(SHA256.hash(data: data)))
    }

    /// SHA-256 of `data`.
    public static func sha256(_ data: some DataProtocol) -> Hash {
        Hash(unchecked: Array(SHA256.hash(data: data)))
    }

    /// SHA-256 of a domain tag followed by `parts`, so that hashes of different kinds of
    /// object can never collide (see `docs/wire-format.md`, "Domain separation").
    public static func tagged(_ domain: HashDomain, _ parts: [UInt8]...) -> Hash {
        var hasher = SHA256()
        hasher.update(data: domain.prefix)
        for part in parts { hasher.update(data: part) }
        return Hash(unchecked: Array(hasher.finalize()))
    }

    public var hex: String { bytes.hexString }
    public var description: String { hex }

    public static func < (lhs: Hash, rhs: Hash) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// Parses 64 hex digits.
    public init?(hex: String) {
        guard let bytes = [UInt8](hex: hex) else { return nil }
        self.init(bytes)
    }
}

/// The domains of every hash and signature Kizuna computes. Each prefix is an ASCII tag
/// ending in a zero byte, so no tag is a prefix of another.
public enum HashDomain: String, Sendable, CaseIterable {
    case transaction = "KIZUNA/TX/V1"
    case block = "KIZUNA/BLOCK/V1"
    case vote = "KIZUNA/VOTE/V1"
    case certificate = "KIZUNA/CERT/V1"
    case transactionsLeaf = "KIZUNA/TXLEAF/V1"
    case transactionsNode = "KIZUNA/TXNODE/V1"
    case stateLeaf = "KIZUNA/STATELEAF/V1"
    case stateNode = "KIZUNA/STATENODE/V1"
    case stateKey = "KIZUNA/STATEKEY/V1"
    case stateValue = "KIZUNA/STATEVALUE/V1"
    case validatorSet = "KIZUNA/VALSET/V1"
    case genesis = "KIZUNA/GENESIS/V1"
    case addressChecksum = "KIZUNA/ADDRESS/V1"
    case peerChallenge = "KIZUNA/PEER/V1"
    case requestSignature = "KIZUNA/REQUEST/V1"
    case genesisApproval = "KIZUNA/GENESIS-APPROVAL/V1"
    case peerLink = "KIZUNA/LINK/V1"
    case paymentAuthorisation = "KIZUNA/PAY-AUTH/V1"
    /// A governance change the validators approve (ADR 0018).
    case governance = "KIZUNA/GOVERNANCE/V1"

    public var prefix: [UInt8] { Array(rawValue.utf8) + [0] }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var characters: [UInt8] = []
        for byte in self {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Parses hexadecimal (either case); nil on odd length or a non-hex character.
    public init?(hex: String) {
        let characters = Array(hex.utf8)
        guard characters.count % 2 == 0 else { return nil }
        func value(_ character: UInt8) -> UInt8? {
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var result: [UInt8] = []
        result.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = value(characters[index]), let low = value(characters[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        self = result
    }
}
