/// The text form of an account's public key: `kz1` followed by 58 lowercase base32
/// characters (RFC 4648 alphabet, no padding) of the 32-byte key and a 4-byte checksum.
///
/// The checksum is the first 4 bytes of `SHA-256("KIZUNA/ADDRESS/V1\0" ‖ key)`, so a
/// mistyped character is caught with probability 1 − 2⁻³².
public struct Address: Hashable, Sendable, CustomStringConvertible {
    public static let prefix = "kz1"
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    public let publicKey: PublicKey

    public init(publicKey: PublicKey) { self.publicKey = publicKey }

    public var description: String {
        let checksum = Hash.tagged(.addressChecksum, publicKey.bytes).bytes.prefix(4)
        return Address.prefix + Address.base32(publicKey.bytes + checksum)
    }

    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case missingPrefix
        case badLength(Int)
        case badCharacter(Character)
        case badChecksum
        case notAKey

        public var code: String {
            switch self {
            case .missingPrefix: "address.missing_prefix"
            case .badLength: "address.bad_length"
            case .badCharacter: "address.bad_character"
            case .badChecksum: "address.bad_checksum"
            case .notAKey: "address.not_a_key"
            }
        }

        public var description: String {
            switch self {
            case .missingPrefix: "\(code): an address starts with \(Address.prefix)"
            case .badLength(let count): "\(code): an address has 61 characters, this one has \(count)"
            case .badCharacter(let character): "\(code): '\(character)' is not a base32 character (a–z, 2–7)"
            case .badChecksum: "\(code): the checksum does not match; check the address for a typo"
            case .notAKey: "\(code): the address does not hold a valid Ed25519 public key"
            }
        }
    }

    /// Parses the text form, checking the prefix, the characters and the checksum.
    public init(parsing text: String) throws(ParseError) {
        guard text.hasPrefix(Address.prefix) else { throw .missingPrefix }
        let body = Array(text.utf8.dropFirst(Address.prefix.utf8.count))
        guard body.count == 58 else { throw .badLength(text.count) }
        var bits: UInt64 = 0
        var bitCount = 0
        var bytes: [UInt8] = []
        for character in body {
            guard let value = Address.alphabet.firstIndex(of: character) else {
                throw .badCharacter(Character(Unicode.Scalar(character)))
            }
            bits = bits << 5 | UInt64(value)
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(bitCount)))
            }
        }
        // 58 characters carry 290 bits: 36 bytes and 2 padding bits, which must be zero
        // so that each key has exactly one text form.
        guard bytes.count == 36, bits & ((1 << UInt64(bitCount)) - 1) == 0 else { throw .badChecksum }
        let keyBytes = Array(bytes[0..<32])
        guard Array(Hash.tagged(.addressChecksum, keyBytes).bytes.prefix(4)) == Array(bytes[32..<36]) else {
            throw .badChecksum
        }
        guard let key = PublicKey(keyBytes) else { throw .notAKey }
        publicKey = key
    }

    static func base32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var bits: UInt64 = 0
        var bitCount = 0
        for byte in bytes {
            bits = bits << 8 | UInt64(byte)
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                output.append(alphabet[Int((bits >> UInt64(bitCount)) & 31)])
            }
        }
        if bitCount > 0 {
            output.append(alphabet[Int((bits << UInt64(5 - bitCount)) & 31)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
