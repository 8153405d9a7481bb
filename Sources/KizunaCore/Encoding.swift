/// Kizuna's canonical binary encoding (specified in `docs/wire-format.md`).
///
/// Every value has exactly one encoding: integers are fixed-width big-endian, byte strings
/// and lists carry a 4-byte big-endian length with a per-field maximum, booleans and
/// option tags are one byte that must be 0 or 1, enum tags are one byte from a closed set.
/// Decoding is strict: a trailing byte, an unknown tag, a length over its maximum or a
/// non-canonical form is an error, never silently accepted.
public struct Encoder: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func encode(_ value: UInt8) { bytes.append(value) }

    public mutating func encode(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func encode(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    public mutating func encode(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    public mutating func encode(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Fixed-length bytes: written as they are, with no length.
    public mutating func encodeFixed(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// Variable-length bytes: 4-byte length, then the bytes.
    public mutating func encodeBytes(_ value: [UInt8]) {
        encode(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func encode(_ value: String) { encodeBytes(Array(value.utf8)) }

    public mutating func encode(_ value: Hash) { value.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    public mutating func encode<T: CanonicalEncodable>(_ value: T) { value.encode(to: &self) }

    /// Several values in turn, each in its own encoding: a struct's fields in wire order,
    /// `encoder.encode(to, amount)`.
    public mutating func encode<First: CanonicalEncodable, Second: CanonicalEncodable, each Rest: CanonicalEncodable>(
        _ first: First, _ second: Second, _ rest: repeat each Rest
    ) {
        first.encode(to: &self)
        second.encode(to: &self)
        repeat (each rest).encode(to: &self)
    }
}

// The primitive values encode as the `Encoder` methods above, so that any field, an optional
// or a list of them goes through the one generic `encode`.
extension UInt8: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }
extension UInt16: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }
extension UInt32: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }
extension UInt64: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }
extension Bool: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }
extension String: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }
extension Hash: CanonicalEncodable { public func encode(to encoder: inout Encoder) { encoder.encode(self) } }

// Likewise the integers decode as the `Decoder` methods, so that an optional one is
// `decoder.decodeOptional(UInt64.self)` rather than an option tag read by hand.
extension UInt8: CanonicalDecodable { public init(from decoder: inout Decoder) throws(DecodingError) { self = try decoder.decodeUInt8() } }
extension UInt16: CanonicalDecodable { public init(from decoder: inout Decoder) throws(DecodingError) { self = try decoder.decodeUInt16() } }
extension UInt32: CanonicalDecodable { public init(from decoder: inout Decoder) throws(DecodingError) { self = try decoder.decodeUInt32() } }
extension UInt64: CanonicalDecodable { public init(from decoder: inout Decoder) throws(DecodingError) { self = try decoder.decodeUInt64() } }

/// An option: one tag byte, 0 for absent, 1 followed by the value for present.
extension Optional: CanonicalEncodable where Wrapped: CanonicalEncodable {
    public func encode(to encoder: inout Encoder) {
        switch self {
        case .some(let value):
            encoder.encode(UInt8(1))
            value.encode(to: &encoder)
        case .none:
            encoder.encode(UInt8(0))
        }
    }
}

/// A list: 4-byte element count, then each element.
extension Array: CanonicalEncodable where Element: CanonicalEncodable {
    public func encode(to encoder: inout Encoder) {
        encoder.encode(UInt32(count))
        for element in self { element.encode(to: &encoder) }
    }
}

/// One byte from a closed set: an enum whose raw values are its wire tags. Decoding refuses
/// any other byte with `decode.invalid_tag`, naming what was expected ("unknown role 7").
public protocol CanonicalTag: RawRepresentable, CanonicalCodable where RawValue == UInt8 {
    /// What the byte stands for, in the error message: "role", "charge channel".
    static var tagName: String { get }
}

extension CanonicalTag {
    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        let raw = try decoder.decodeUInt8()
        guard let value = Self(rawValue: raw) else {
            throw DecodingError(.invalidTag, "unknown \(Self.tagName) \(raw)", offset: start)
        }
        self = value
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(rawValue) }
}

/// Why bytes did not decode.
public enum DecodingErrorCode: String, ErrorCode, CaseIterable {
    /// The input ended before the value did.
    case truncated = "decode.truncated"
    /// Bytes remained after the value.
    case trailingBytes = "decode.trailing_bytes"
    /// A length or count above the field's maximum.
    case lengthTooLarge = "decode.length_too_large"
    /// An enum, option or boolean byte outside its allowed set.
    case invalidTag = "decode.invalid_tag"
    /// A string that is not valid UTF-8 or breaks the field's character rules.
    case invalidString = "decode.invalid_string"
    /// A value that decodes but breaks a structural rule (unsorted list, zero amount…).
    case invalidValue = "decode.invalid_value"
    /// A public key that is not a valid Ed25519 point.
    case invalidKey = "decode.invalid_key"
}

/// A decoding failure: what was wrong and at which byte offset. Compares on the code only.
public typealias DecodingError = CodedError<DecodingErrorCode>

extension CodedError where Codes == DecodingErrorCode {
    public init(_ code: Code, _ message: String, offset: Int) {
        self.init(code, message, at: .byte(offset))
    }

    /// The byte offset in the input where the problem was found.
    public var offset: Int {
        guard case .byte(let offset) = location else { preconditionFailure("a decoding error is built with its offset") }
        return offset
    }
}

/// Reads the canonical encoding from a byte buffer, strictly.
public struct Decoder: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    /// True when the bytes come from this node's own store, where every public key was
    /// checked to be a valid Ed25519 point before it was written: decoding then skips the
    /// point check (≈ 60 µs per key in release), which would otherwise dominate reading
    /// state. Bytes from outside are always decoded with the check.
    public let keysAlreadyValidated: Bool

    public init(_ bytes: [UInt8], keysAlreadyValidated: Bool = false) {
        self.bytes = bytes
        self.offset = 0
        self.keysAlreadyValidated = keysAlreadyValidated
    }

    public var remaining: Int { bytes.count - offset }

    /// Throws unless every byte was consumed.
    public func finish() throws(DecodingError) {
        guard offset == bytes.count else {
            throw DecodingError(.trailingBytes, "\(bytes.count - offset) byte(s) after the end of the value", offset: offset)
        }
    }

    private mutating func take(_ count: Int) throws(DecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw DecodingError(.truncated, "needed \(count) byte(s), \(remaining) left", offset: offset)
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func decodeUInt8() throws(DecodingError) -> UInt8 { try take(1).first! }

    public mutating func decodeUInt16() throws(DecodingError) -> UInt16 {
        try take(2).reduce(0) { $0 << 8 | UInt16($1) }
    }

    public mutating func decodeUInt32() throws(DecodingError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func decodeUInt64() throws(DecodingError) -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func decodeBool() throws(DecodingError) -> Bool { try decodeZeroOrOne("boolean byte") }

    /// A byte that must be 0 (false) or 1 (true); `what` names it in the error.
    private mutating func decodeZeroOrOne(_ what: String) throws(DecodingError) -> Bool {
        let start = offset
        switch try decodeUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw DecodingError(.invalidTag, "\(what) must be 0 or 1, found \(other)", offset: start)
        }
    }

    public mutating func decodeFixed(_ count: Int) throws(DecodingError) -> [UInt8] { Array(try take(count)) }

    /// A length-prefixed byte string of at most `maxBytes` bytes.
    public mutating func decodeBytes(maxBytes: Int) throws(DecodingError) -> [UInt8] {
        let start = offset
        let length = Int(try decodeUInt32())
        guard length <= maxBytes else {
            throw DecodingError(.lengthTooLarge, "length \(length) exceeds the maximum of \(maxBytes)", offset: start)
        }
        return Array(try take(length))
    }

    /// A length-prefixed UTF-8 string of at most `maxBytes` bytes. Control characters are refused.
    public mutating func decodeString(maxBytes: Int) throws(DecodingError) -> String {
        let start = offset
        let raw = try decodeBytes(maxBytes: maxBytes)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw DecodingError(.invalidString, "string is not valid UTF-8", offset: start)
        }
        guard !string.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw DecodingError(.invalidString, "string contains a control character", offset: start)
        }
        return string
    }

    public mutating func decodeHash() throws(DecodingError) -> Hash {
        Hash(unchecked: try decodeFixed(Hash.byteCount))
    }

    /// The option tag: false for absent, true for present.
    public mutating func decodeOptionTag() throws(DecodingError) -> Bool { try decodeZeroOrOne("option tag") }

    public mutating func decode<T: CanonicalDecodable>(_ type: T.Type) throws(DecodingError) -> T {
        try T(from: &self)
    }

    public mutating func decodeOptional<T: CanonicalDecodable>(_ type: T.Type) throws(DecodingError) -> T? {
        try decodeOptionTag() ? try T(from: &self) : nil
    }

    public mutating func decodeOptionalString(maxBytes: Int) throws(DecodingError) -> String? {
        try decodeOptionTag() ? try decodeString(maxBytes: maxBytes) : nil
    }

    public mutating func decodeOptionalHash() throws(DecodingError) -> Hash? {
        try decodeOptionTag() ? try decodeHash() : nil
    }

    public mutating func decodeOptionalUInt8() throws(DecodingError) -> UInt8? {
        try decodeOptionTag() ? try decodeUInt8() : nil
    }

    /// A counted list of at most `maxCount` elements.
    public mutating func decodeList<T: CanonicalDecodable>(_ type: T.Type, maxCount: Int) throws(DecodingError) -> [T] {
        let start = offset
        let count = Int(try decodeUInt32())
        guard count <= maxCount else {
            throw DecodingError(.lengthTooLarge, "list of \(count) exceeds the maximum of \(maxCount)", offset: start)
        }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try T(from: &self)) }
        return result
    }

    public func invalid(_ message: String, at position: Int? = nil) -> DecodingError {
        DecodingError(.invalidValue, message, offset: position ?? offset)
    }
}

public protocol CanonicalEncodable {
    func encode(to encoder: inout Encoder)
}

public protocol CanonicalDecodable {
    init(from decoder: inout Decoder) throws(DecodingError)
}

public typealias CanonicalCodable = CanonicalEncodable & CanonicalDecodable

extension CanonicalEncodable {
    /// The canonical encoding of this value.
    public var canonicalBytes: [UInt8] {
        var encoder = Encoder()
        encode(to: &encoder)
        return encoder.bytes
    }
}

extension CanonicalDecodable {
    /// Decodes a value that must fill `bytes` exactly.
    public init(canonicalBytes bytes: [UInt8]) throws(DecodingError) {
        var decoder = Decoder(bytes)
        self = try Self(from: &decoder)
        try decoder.finish()
    }

    /// Decodes a value this node wrote to its own store (see `Decoder.keysAlreadyValidated`).
    public init(storedBytes bytes: [UInt8]) throws(DecodingError) {
        var decoder = Decoder(bytes, keysAlreadyValidated: true)
        self = try Self(from: &decoder)
        try decoder.finish()
    }
}
