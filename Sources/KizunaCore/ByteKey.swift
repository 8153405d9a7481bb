/// Bytes as a dictionary or set key, hashed in one pass.
///
/// `[UInt8]`'s own `hash(into:)` feeds the hasher one element at a time (a
/// `Hasher.combine(UInt8)` call per byte); with state keys of 33–70 bytes that made hashing
/// about a tenth of a block's execution (`docs/benchmarks.md`, 2026-12-06). This feeds the
/// whole buffer at once. Equality is the bytes'; nothing ever depends on a hash's value or a
/// dictionary's order (changes are sorted by key before they reach a root).
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]

    @inlinable
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    @inlinable
    public static func == (lhs: ByteKey, rhs: ByteKey) -> Bool { lhs.bytes == rhs.bytes }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
