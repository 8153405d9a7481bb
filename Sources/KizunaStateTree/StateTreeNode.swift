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
        Hash.tagged(.stateLeaf, key, valueHash)
    }

    /// `SHA-256("KIZUNA/STATENODE/V1\0" ‖ left ‖ right)`.
    public static func nodeHash(left: Hash, right: Hash) -> Hash {
        Hash.tagged(.stateNode, left, right)
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
        let word: UInt64 = switch index >> 6 {
        case 0: words.0
        case 1: words.1
        case 2: words.2
        default: words.3
        }
        return Int(truncatingIfNeeded: word >> UInt64(63 - (index & 63))) & 1
    }
}

/// A place in the tree: the first `depth` bits of every key below it. Its `storageKey`,
/// which names it in errors (and was a node's key in the binary layout of store format 2), is
/// `depth` as two bytes big-endian followed by the prefix bits packed most significant bit
/// first into `ceil(depth / 8)` bytes, unused low bits zero. Nodes are stored in pages
/// (`StoredPage`, keyed by `pageStorageKey` of the page's top).
///
/// The path is held inline in four words (bits past `depth` zero), so moving down the tree,
/// comparing and hashing positions allocate nothing: the tree visits one position per level
/// of every touched key.
struct NodePosition: Hashable, Sendable {
    let depth: Int
    /// Path bits 0 ..< 256, most significant bit of `words.0` first.
    let words: (UInt64, UInt64, UInt64, UInt64)

    static let root = NodePosition(depth: 0, words: (0, 0, 0, 0))

    init(depth: Int, words: (UInt64, UInt64, UInt64, UInt64)) {
        self.depth = depth
        self.words = words
    }

    static func == (lhs: NodePosition, rhs: NodePosition) -> Bool {
        lhs.depth == rhs.depth && lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(depth)
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Word `index` (0 ... 3) of the path.
    @inline(__always)
    func word(_ index: Int) -> UInt64 {
        switch index {
        case 0: words.0
        case 1: words.1
        case 2: words.2
        default: words.3
        }
    }

    /// Bit `index` of the path (`index < depth`).
    @inline(__always)
    func bit(_ index: Int) -> Int {
        Int(truncatingIfNeeded: word(index >> 6) >> UInt64(63 - (index & 63))) & 1
    }

    func child(_ bit: Int) -> NodePosition {
        guard bit == 1 else { return NodePosition(depth: depth + 1, words: words) }
        let mask = UInt64(1) << UInt64(63 - (depth & 63))
        var words = self.words
        switch depth >> 6 {
        case 0: words.0 |= mask
        case 1: words.1 |= mask
        case 2: words.2 |= mask
        default: words.3 |= mask
        }
        return NodePosition(depth: depth + 1, words: words)
    }

    /// This position cut to its first `newDepth` bits (`newDepth <= depth`).
    func truncated(to newDepth: Int) -> NodePosition {
        func keep(_ word: UInt64, from start: Int) -> UInt64 {
            let bits = newDepth - start
            if bits <= 0 { return 0 }
            if bits >= 64 { return word }
            return word & ~(UInt64.max >> UInt64(bits))
        }
        return NodePosition(depth: newDepth, words: (keep(words.0, from: 0), keep(words.1, from: 64), keep(words.2, from: 128), keep(words.3, from: 192)))
    }

    /// The path bits packed most significant bit first into `ceil(depth / 8)` bytes.
    var prefix: [UInt8] {
        let count = (depth + 7) >> 3
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for index in 0..<count {
            bytes.append(UInt8(truncatingIfNeeded: word(index >> 3) >> UInt64(56 - (index & 7) * 8)))
        }
        return bytes
    }

    var storageKey: [UInt8] {
        [UInt8(truncatingIfNeeded: depth >> 8), UInt8(truncatingIfNeeded: depth)] + prefix
    }

    /// Whether `key` starts with this position's path bits.
    func contains(_ key: Hash) -> Bool {
        let keyWords = key.words
        for index in 0..<4 {
            let start = index * 64
            let bits = depth - start
            if bits <= 0 { return true }
            let mask = bits >= 64 ? UInt64.max : ~(UInt64.max >> UInt64(bits))
            let keyWord: UInt64 = switch index {
            case 0: keyWords.0
            case 1: keyWords.1
            case 2: keyWords.2
            default: keyWords.3
            }
            if keyWord & mask != word(index) { return false }
        }
        return true
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
    init?(decoding bytes: ArraySlice<UInt8>) {
        guard bytes.count == StoredNode.encodedCount else { return nil }
        let start = bytes.startIndex
        let (first, second) = bytes.withUnsafeBytes { raw in
            (Hash(raw: UnsafeRawBufferPointer(rebasing: raw[1..<33])), Hash(raw: UnsafeRawBufferPointer(rebasing: raw[33..<65])))
        }
        switch bytes[start] {
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
