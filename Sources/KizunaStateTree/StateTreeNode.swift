public import KizunaCore
import KizunaStorage

// The node layout of the state tree. `docs/state-commitment.md` is the normative
// description; this file must stay in step with it.

extension StateTree {
    /// The deepest a leaf can sit: a 256-bit key has 256 bits, so two distinct keys share
    /// at most 255, and their common internal node is at depth 255 at most.
    public static let maxDepth = 256

    /// The hash of an empty subtree and the root of the empty tree.
    public static let emptyRoot = Hash.zero

    /// `SHA-256("KIZUNA/STATELEAF/V1\0" ‖ keyHash ‖ valueHash)`.
    public static func leafHash(key: Hash, valueHash: Hash) -> Hash {
        Hash.tagged(.stateLeaf, key.bytes, valueHash.bytes)
    }

    /// `SHA-256("KIZUNA/STATENODE/V1\0" ‖ left ‖ right)`.
    public static func nodeHash(left: Hash, right: Hash) -> Hash {
        Hash.tagged(.stateNode, left.bytes, right.bytes)
    }
}

/// Errors of the state tree.
public typealias StateTreeError = CodedError<StateTreeErrorCode>

/// The codes of `StateTreeError`.
public enum StateTreeErrorCode: String, ErrorCode {
    /// Two updates in one call name the same key.
    case duplicateKey = "state_tree.duplicate_key"
    /// A stored node is malformed, is not where its key says it should be, or does not hash
    /// to what its parent records.
    case corruptNode = "state_tree.corrupt_node"
}

extension CodedError where Codes == StateTreeErrorCode {
    public static func duplicateKey(_ key: Hash) -> StateTreeError {
        StateTreeError(.duplicateKey, key.hex)
    }

    /// - Parameters:
    ///   - position: the hex storage key of the node.
    public static func corruptNode(position: String, reason: String) -> StateTreeError {
        StateTreeError(.corruptNode, reason, at: .named(position))
    }
}

extension Hash {
    /// Bit `index` of the hash, most significant bit of byte 0 first: 0 means "left".
    @inline(__always)
    func bit(_ index: Int) -> Int {
        Int(bytes[index >> 3] >> UInt8(7 - (index & 7))) & 1
    }
}

/// A place in the tree: the first `depth` bits of every key below it. Its `storageKey`,
/// which names it in errors (and was a node's key in the binary layout of store format 2), is
/// `depth` as two bytes big-endian followed by the prefix bits packed most significant bit
/// first into `ceil(depth / 8)` bytes, unused low bits zero. Nodes are stored in pages
/// (`StoredPage`, keyed by `pageStorageKey` of the page's top).
struct NodePosition: Hashable, Sendable {
    let depth: Int
    /// `ceil(depth / 8)` bytes; bits past `depth` are zero.
    let prefix: [UInt8]

    static let root = NodePosition(depth: 0, prefix: [])

    func child(_ bit: Int) -> NodePosition {
        var bytes = prefix
        if depth & 7 == 0 { bytes.append(0) }
        if bit == 1 { bytes[depth >> 3] |= 0x80 >> UInt8(depth & 7) }
        return NodePosition(depth: depth + 1, prefix: bytes)
    }

    var storageKey: [UInt8] {
        [UInt8(truncatingIfNeeded: depth >> 8), UInt8(truncatingIfNeeded: depth)] + prefix
    }

    /// Whether `key` starts with this position's prefix bits.
    func contains(_ key: Hash) -> Bool {
        let whole = depth >> 3
        for index in 0..<whole where key.bytes[index] != prefix[index] { return false }
        let rest = depth & 7
        if rest == 0 { return true }
        let mask = UInt8(0xff) << UInt8(8 - rest)
        return key.bytes[whole] & mask == prefix[whole]
    }
}

/// A node as stored in a page (65 bytes; `StoredPage`):
/// - internal: `0x01 ‖ leftHash ‖ rightHash`, at least one of them non-zero;
/// - leaf: `0x02 ‖ keyHash ‖ valueHash`.
enum StoredNode: Equatable, Sendable {
    case `internal`(left: Hash, right: Hash)
    case leaf(key: Hash, valueHash: Hash)

    static let internalTag: UInt8 = 0x01
    static let leafTag: UInt8 = 0x02
    static let encodedCount = 65

    var hash: Hash {
        switch self {
        case .internal(let left, let right): StateTree.nodeHash(left: left, right: right)
        case .leaf(let key, let valueHash): StateTree.leafHash(key: key, valueHash: valueHash)
        }
    }

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(StoredNode.encodedCount)
        append(to: &bytes)
        return bytes
    }

    /// Decodes a stored node; nil if the bytes are not exactly one well-formed node.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count == StoredNode.encodedCount,
              let first = Hash(bytes[1..<33]),
              let second = Hash(bytes[33..<65])
        else { return nil }
        switch bytes[0] {
        case StoredNode.internalTag:
            guard first != .zero || second != .zero else { return nil }
            self = .internal(left: first, right: second)
        case StoredNode.leafTag:
            self = .leaf(key: first, valueHash: second)
        default:
            return nil
        }
    }
}
