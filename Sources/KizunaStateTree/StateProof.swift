public import KizunaCore

/// A proof of one key's value, or of its absence, against a state root.
///
/// `siblings[i]` is the hash of the sibling at depth `i + 1` of the path of the key (root
/// side first): the left child when the key's bit `i` is 1, the right child when it is 0.
/// The path ends after `siblings.count` bits at either a leaf (`leaf`, which may hold a
/// different key: then the proven key is absent) or an empty subtree (`leaf == nil`).
public struct StateProof: Sendable, Equatable, CustomStringConvertible {
    /// The leaf at the end of the path.
    public struct Leaf: Sendable, Equatable {
        public let key: Hash
        public let valueHash: Hash

        public init(key: Hash, valueHash: Hash) {
            self.key = key
            self.valueHash = valueHash
        }
    }

    public let siblings: [Hash]
    public let leaf: Leaf?

    public init(siblings: [Hash], leaf: Leaf?) {
        self.siblings = siblings
        self.leaf = leaf
    }

    /// Whether this proof shows that, under `root`, `key` has value hash `valueHash`
    /// (`valueHash` nil: that `key` is absent).
    public func verify(root: Hash, key: Hash, valueHash: Hash?) -> Bool {
        guard siblings.count <= StateTree.maxDepth else { return false }
        var current: Hash
        if let leaf {
            // The leaf must lie on the key's path...
            for index in 0..<siblings.count where leaf.key.bit(index) != key.bit(index) { return false }
            if let valueHash {
                guard leaf.key == key, leaf.valueHash == valueHash else { return false }
            } else {
                // ...and, for absence, be some other key.
                guard leaf.key != key else { return false }
            }
            current = StateTree.leafHash(key: leaf.key, valueHash: leaf.valueHash)
        } else {
            guard valueHash == nil else { return false }
            current = StateTree.emptyRoot
        }
        for index in siblings.indices.reversed() {
            let sibling = siblings[index]
            current = key.bit(index) == 0
                ? StateTree.nodeHash(left: current, right: sibling)
                : StateTree.nodeHash(left: sibling, right: current)
        }
        return current == root
    }

    /// What this proof says about `key` under `root`: `.some(valueHash)` when present,
    /// `.some(nil)` when absent, nil when the proof does not verify.
    public func verifiedValue(root: Hash, key: Hash) -> Hash?? {
        if let leaf, leaf.key == key {
            return verify(root: root, key: key, valueHash: leaf.valueHash) ? .some(leaf.valueHash) : nil
        }
        return verify(root: root, key: key, valueHash: nil) ? .some(nil) : nil
    }

    // MARK: - Canonical encoding

    /// Format version byte of the encoding.
    public static let formatVersion: UInt8 = 1

    /// The canonical bytes (see `docs/state-commitment.md`, "Proof encoding"):
    /// `0x01` version ‖ leaf tag (`0x00` none, `0x01` leaf ‖ key ‖ valueHash) ‖
    /// sibling count (u16 big-endian, ≤ 256) ‖ bitmap of non-zero siblings
    /// (`ceil(count / 8)` bytes, sibling 0 = most significant bit of the first byte, unused
    /// bits zero) ‖ the non-zero siblings in order, 32 bytes each.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = [StateProof.formatVersion]
        if let leaf {
            bytes.append(0x01)
            bytes.append(contentsOf: leaf.key.bytes)
            bytes.append(contentsOf: leaf.valueHash.bytes)
        } else {
            bytes.append(0x00)
        }
        let count = siblings.count
        bytes.append(UInt8(truncatingIfNeeded: count >> 8))
        bytes.append(UInt8(truncatingIfNeeded: count))
        var bitmap = [UInt8](repeating: 0, count: (count + 7) / 8)
        for (index, sibling) in siblings.enumerated() where sibling != .zero {
            bitmap[index >> 3] |= 0x80 >> UInt8(index & 7)
        }
        bytes.append(contentsOf: bitmap)
        for sibling in siblings where sibling != .zero { bytes.append(contentsOf: sibling.bytes) }
        return bytes
    }

    /// Decodes the canonical bytes strictly: wrong version, unknown tag, more than 256
    /// siblings, set padding bits, truncation and trailing bytes are all rejected, so every
    /// proof has exactly one encoding.
    public init(decoding bytes: some Collection<UInt8>) throws(StateProofDecodingError) {
        let bytes = Array(bytes)
        var offset = 0
        func take(_ count: Int) throws(StateProofDecodingError) -> ArraySlice<UInt8> {
            guard bytes.count - offset >= count else { throw .truncated }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }
        func hash() throws(StateProofDecodingError) -> Hash {
            Hash(try take(Hash.byteCount))!
        }
        guard try take(1).first! == StateProof.formatVersion else { throw .unsupportedVersion }
        let leaf: Leaf?
        switch try take(1).first! {
        case 0x00: leaf = nil
        case 0x01: leaf = Leaf(key: try hash(), valueHash: try hash())
        default: throw .badTag
        }
        let countBytes = try take(2)
        let count = Int(countBytes.first!) << 8 | Int(countBytes.last!)
        guard count <= StateTree.maxDepth else { throw .tooManySiblings }
        let bitmap = Array(try take((count + 7) / 8))
        if count & 7 != 0, bitmap.last! & (0xff >> UInt8(count & 7)) != 0 { throw .nonCanonical }
        var siblings: [Hash] = []
        siblings.reserveCapacity(count)
        for index in 0..<count {
            if bitmap[index >> 3] & (0x80 >> UInt8(index & 7)) != 0 {
                let sibling = try hash()
                guard sibling != .zero else { throw .nonCanonical }
                siblings.append(sibling)
            } else {
                siblings.append(.zero)
            }
        }
        guard offset == bytes.count else { throw .trailingBytes }
        self.init(siblings: siblings, leaf: leaf)
    }

    /// Lowercase hex of `encoded`.
    public var hex: String { encoded.hexString }

    /// Parses the hex of the canonical encoding.
    public init(hex: String) throws(StateProofDecodingError) {
        guard let bytes = [UInt8](hex: hex) else { throw .badHex }
        try self.init(decoding: bytes)
    }

    public var description: String { hex }
}

/// Why bytes are not a canonical state proof.
public enum StateProofDecodingError: String, Error, Sendable, Equatable {
    case truncated = "state_proof.truncated"
    case trailingBytes = "state_proof.trailing_bytes"
    case unsupportedVersion = "state_proof.unsupported_version"
    case badTag = "state_proof.bad_tag"
    case tooManySiblings = "state_proof.too_many_siblings"
    /// A padding bit is set or a sibling marked non-zero is all zeros.
    case nonCanonical = "state_proof.non_canonical"
    case badHex = "state_proof.bad_hex"
}
