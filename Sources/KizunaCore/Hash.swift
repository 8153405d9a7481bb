public import Crypto
public import Foundation
import CSHA256

/// A SHA-256 digest: 32 bytes. Compares and orders as unsigned bytes.
///
/// Held inline as four big-endian words, not as an array: a hash is a plain value that costs
/// no allocation, retain or release to make, copy, compare or use as a dictionary key (the
/// state tree and the ledger handle millions of them; as an array they were ≈ 40% of the
/// tree's CPU in allocation and reference counting, ADR 0023). `bytes` makes the array when a
/// caller needs one; `withUnsafeBytes` lends the bytes without one.
public struct Hash: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let byteCount = 32
    /// The all-zero hash: "no value" (e.g. the parent of the first block).
    public static let zero = Hash(words: (0, 0, 0, 0))

    /// Bytes 0–7, 8–15, 16–23 and 24–31 as big-endian integers: ordering the words orders
    /// the bytes.
    @usableFromInline let word0: UInt64
    @usableFromInline let word1: UInt64
    @usableFromInline let word2: UInt64
    @usableFromInline let word3: UInt64

    /// The 32 bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The four big-endian words (bytes 0–7 first).
    public var words: (UInt64, UInt64, UInt64, UInt64) { (word0, word1, word2, word3) }

    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        word0 = words.0
        word1 = words.1
        word2 = words.2
        word3 = words.3
    }

    /// Wraps 32 bytes; returns nil for any other length.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Hash.byteCount else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = 0
        for byte in bytes {
            let value = UInt64(byte)
            switch index >> 3 {
            case 0: words.0 = words.0 << 8 | value
            case 1: words.1 = words.1 << 8 | value
            case 2: words.2 = words.2 << 8 | value
            default: words.3 = words.3 << 8 | value
            }
            index += 1
        }
        self.init(words: words)
    }

    init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == Hash.byteCount)
        self = bytes.withUnsafeBytes { Hash(raw: $0) }
    }

    /// From 32 bytes in memory.
    public init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count == Hash.byteCount)
        self.init(words: (
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        ))
    }

    /// Calls `body` with the 32 bytes (valid only during the call).
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let bigEndian = (word0.bigEndian, word1.bigEndian, word2.bigEndian, word3.bigEndian)
        return try Swift.withUnsafeBytes(of: bigEndian) { try body($0) }
    }

    /// From a finished digest.
    init(digest: SHA256.Digest) {
        self = digest.withUnsafeBytes { Hash(raw: $0) }
    }

    /// SHA-256 of bytes. A concrete overload: the generic one below is several times slower
    /// across the module boundary.
    public static func sha256(_ data: [UInt8]) -> Hash {
        data.withUnsafeBytes { Hash.digest($0) }
    }

    /// SHA-256 of `data`.
    public static func sha256(_ data: some DataProtocol) -> Hash {
        Hash(digest: SHA256.hash(data: data))
    }

    /// SHA-256 of a domain tag followed by `parts`, so that hashes of different kinds of
    /// object can never collide (see `docs/wire-format.md`, "Domain separation").
    public static func tagged(_ domain: HashDomain, _ parts: [UInt8]...) -> Hash {
        var context = SHA256_CTX()
        SHA256_Init(&context)
        domain.prefix.withUnsafeBytes { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
        for part in parts { part.withUnsafeBytes { _ = SHA256_Update(&context, $0.baseAddress, $0.count) } }
        return Hash.finish(&context)
    }

    /// SHA-256 of a domain tag followed by two hashes: the state tree's nodes and leaves, the
    /// transactions tree's nodes. No array is made for the parts.
    public static func tagged(_ domain: HashDomain, _ first: Hash, _ second: Hash) -> Hash {
        let pair = (first.word0.bigEndian, first.word1.bigEndian, first.word2.bigEndian, first.word3.bigEndian,
                    second.word0.bigEndian, second.word1.bigEndian, second.word2.bigEndian, second.word3.bigEndian)
        return domain.prefix.withUnsafeBytes { prefix in
            Swift.withUnsafeBytes(of: pair) { Hash.digest(prefix, $0) }
        }
    }

    /// SHA-256 of `first` then `second` by the system's libcrypto, its context on the stack:
    /// no allocation, where swift-crypto's `SHA256` allocates a context object for every hash
    /// (two thirds of the time of the state tree's hashing went to that and its release; ADR
    /// 0026).
    static func digest(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Hash {
        var context = SHA256_CTX()
        SHA256_Init(&context)
        SHA256_Update(&context, first.baseAddress, first.count)
        if second.count > 0 { SHA256_Update(&context, second.baseAddress, second.count) }
        return finish(&context)
    }

    private static func finish(_ context: inout SHA256_CTX) -> Hash {
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &digest) { _ = SHA256_Final($0.baseAddress!.assumingMemoryBound(to: UInt8.self), &context) }
        return Swift.withUnsafeBytes(of: digest) { Hash(raw: $0) }
    }

    public var hex: String { bytes.hexString }
    public var description: String { hex }

    public static func < (lhs: Hash, rhs: Hash) -> Bool {
        (lhs.word0, lhs.word1, lhs.word2, lhs.word3) < (rhs.word0, rhs.word1, rhs.word2, rhs.word3)
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

    /// The tag's bytes and its zero byte, made once per domain.
    public var prefix: [UInt8] { HashDomain.prefixes[ordinal] }

    private static let prefixes: [[UInt8]] = allCases.map { Array($0.rawValue.utf8) + [0] }

    /// The position in `allCases`. Looked up on every hash: a dictionary keyed by the domain
    /// hashed its tag's string each time.
    private var ordinal: Int {
        switch self {
        case .transaction: 0
        case .block: 1
        case .vote: 2
        case .certificate: 3
        case .transactionsLeaf: 4
        case .transactionsNode: 5
        case .stateLeaf: 6
        case .stateNode: 7
        case .stateKey: 8
        case .stateValue: 9
        case .validatorSet: 10
        case .genesis: 11
        case .addressChecksum: 12
        case .peerChallenge: 13
        case .requestSignature: 14
        case .genesisApproval: 15
        case .peerLink: 16
        case .paymentAuthorisation: 17
        case .governance: 18
        }
    }
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
