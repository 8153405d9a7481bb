import KizunaCore
import KizunaStorage
import KizunaStateTree
import Testing

@Suite struct StateProofTests {
    /// A tree of 500 random keys plus a pair sharing a long prefix.
    static func fixture() throws -> (tree: StateTree, root: Hash, entries: [Hash: Hash], random: SplitMix64) {
        var random = SplitMix64(seed: 0x5052_4F4F_46)
        var entries = randomEntries(500, &random)
        entries[hash([0x12, 0x34, 0x56, 0x00])] = random.hash()
        entries[hash([0x12, 0x34, 0x56, 0x01])] = random.hash()
        let tree = StateTree(store: MemoryStore())
        let root = try apply(tree, inserts(entries))
        return (tree, root, entries, random)
    }

    @Test func proofsOfPresenceVerifyAndRejectWrongValues() throws {
        var (tree, root, entries, random) = try Self.fixture()
        for key in entries.keys.sorted() {
            let value = entries[key]!
            let proof = try tree.proof(for: key)
            #expect(proof.leaf == StateProof.Leaf(key: key, valueHash: value))
            #expect(proof.verify(root: root, key: key, valueHash: value))
            #expect(proof.verifiedValue(root: root, key: key) == .some(value))
            #expect(!proof.verify(root: root, key: key, valueHash: random.hash()))  // wrong value
            #expect(!proof.verify(root: root, key: key, valueHash: nil))  // claims absence
            #expect(!proof.verify(root: random.hash(), key: key, valueHash: value))  // wrong root
            #expect(proof.verifiedValue(root: random.hash(), key: key) == nil)
        }
    }

    @Test func proofsOfAbsenceVerify() throws {
        var (tree, root, entries, random) = try Self.fixture()
        var endingAtLeaf = 0
        var endingEmpty = 0
        var absentKeys = (0..<300).map { _ in random.hash() }
        absentKeys.append(hash([0x12, 0x34, 0x56, 0x02]))  // on the long shared path
        absentKeys.append(hash([0x12, 0x34, 0x57]))
        for key in absentKeys where entries[key] == nil {
            let proof = try tree.proof(for: key)
            if proof.leaf == nil { endingEmpty += 1 } else { endingAtLeaf += 1 }
            #expect(proof.verify(root: root, key: key, valueHash: nil))
            #expect(proof.verifiedValue(root: root, key: key) == .some(nil))
            #expect(!proof.verify(root: root, key: key, valueHash: random.hash()))
            #expect(!proof.verify(root: random.hash(), key: key, valueHash: nil))
            if let leaf = proof.leaf {
                // The leaf found proves its own key's value too (same path prefix).
                #expect(proof.verify(root: root, key: leaf.key, valueHash: leaf.valueHash))
            }
        }
        #expect(endingAtLeaf > 0)
        #expect(endingEmpty > 0)
    }

    @Test func proofsForOneKeyDoNotProveAnother() throws {
        let (tree, root, entries, _) = try Self.fixture()
        let keys = entries.keys.sorted()
        for index in stride(from: 0, to: keys.count - 1, by: 7) {
            let key = keys[index]
            let other = keys[index + 1]
            let proof = try tree.proof(for: key)
            #expect(!proof.verify(root: root, key: other, valueHash: entries[key]!))
            #expect(!proof.verify(root: root, key: other, valueHash: entries[other]!))
            #expect(!proof.verify(root: root, key: other, valueHash: nil))
        }
        // A leaf off the key's path cannot prove absence even when the hashes would fit:
        // take key K's presence proof and claim it proves the absence of a key that differs
        // from K in the first bit.
        let key = keys[3]
        let proof = try tree.proof(for: key)
        var flipped = key.bytes
        flipped[0] ^= 0x80
        #expect(!proof.verify(root: root, key: Hash(flipped)!, valueHash: nil))
    }

    @Test func tamperedProofsFail() throws {
        var (tree, root, entries, random) = try Self.fixture()
        for key in entries.keys.sorted().prefix(60) {
            let value = entries[key]!
            let proof = try tree.proof(for: key)
            for index in proof.siblings.indices {
                var siblings = proof.siblings
                siblings[index] = siblings[index] == .zero ? random.hash() : .zero
                #expect(!StateProof(siblings: siblings, leaf: proof.leaf).verify(root: root, key: key, valueHash: value))
                var flipped = proof.siblings[index].bytes
                flipped[random.below(32)] ^= 1 << UInt8(random.below(8))
                siblings[index] = Hash(flipped)!
                #expect(!StateProof(siblings: siblings, leaf: proof.leaf).verify(root: root, key: key, valueHash: value))
            }
            // Dropped or extra siblings.
            #expect(!StateProof(siblings: Array(proof.siblings.dropLast()), leaf: proof.leaf).verify(root: root, key: key, valueHash: value))
            #expect(!StateProof(siblings: proof.siblings + [.zero], leaf: proof.leaf).verify(root: root, key: key, valueHash: value))
            #expect(!StateProof(siblings: [.zero] + proof.siblings, leaf: proof.leaf).verify(root: root, key: key, valueHash: value))
            // No leaf: cannot prove a value, and the root does not match for absence.
            #expect(!StateProof(siblings: proof.siblings, leaf: nil).verify(root: root, key: key, valueHash: value))
            #expect(!StateProof(siblings: proof.siblings, leaf: nil).verify(root: root, key: key, valueHash: nil))
        }
        // Over-long proofs are rejected outright.
        let key = hash([1])
        #expect(!StateProof(siblings: [Hash](repeating: .zero, count: 257), leaf: nil).verify(root: .zero, key: key, valueHash: nil))
    }

    @Test func proofEncodingRoundTrips() throws {
        var (tree, _, entries, random) = try Self.fixture()
        var keys = entries.keys.sorted().prefix(50).map { $0 }
        keys += (0..<50).map { _ in random.hash() }
        keys.append(hash([0x12, 0x34, 0x56, 0x00]))
        for key in keys {
            let proof = try tree.proof(for: key)
            let bytes = proof.encoded
            #expect(try StateProof(decoding: bytes) == proof)
            #expect(try StateProof(hex: proof.hex) == proof)
            #expect(proof.description == proof.hex)
            // Size: 4 header bytes, the leaf, the bitmap, 32 bytes per non-zero sibling.
            let nonZero = proof.siblings.filter { $0 != .zero }.count
            #expect(bytes.count == 4 + (proof.leaf == nil ? 0 : 64) + (proof.siblings.count + 7) / 8 + 32 * nonZero)
        }
        let empty = StateProof(siblings: [], leaf: nil)
        #expect(empty.encoded == [1, 0, 0, 0])
        #expect(try StateProof(decoding: [1, 0, 0, 0]) == empty)
    }

    @Test func proofDecodingIsStrict() throws {
        let (tree, _, _, _) = try Self.fixture()
        let proof = try tree.proof(for: hash([0x12, 0x34, 0x56, 0x00]))
        #expect(proof.siblings.contains(.zero))
        let bytes = proof.encoded
        for length in 0..<bytes.count {
            #expect(throws: StateProofDecodingError.truncated) { try StateProof(decoding: bytes[..<length]) }
        }
        #expect(throws: StateProofDecodingError.trailingBytes) { try StateProof(decoding: bytes + [0]) }
        #expect(throws: StateProofDecodingError.trailingBytes) { try StateProof(decoding: [1, 0, 0, 0, 0xff]) }

        var badVersion = bytes
        badVersion[0] = 2
        #expect(throws: StateProofDecodingError.unsupportedVersion) { try StateProof(decoding: badVersion) }
        var badTag = bytes
        badTag[1] = 2
        #expect(throws: StateProofDecodingError.badTag) { try StateProof(decoding: badTag) }
        // 257 siblings, all zero.
        #expect(throws: StateProofDecodingError.tooManySiblings) {
            try StateProof(decoding: [1, 0, 0x01, 0x01] + [UInt8](repeating: 0, count: 33))
        }
        // 256 zero siblings is fine.
        let deepest = try StateProof(decoding: [1, 0, 0x01, 0x00] + [UInt8](repeating: 0, count: 32))
        #expect(deepest.siblings.count == 256)
        // A padding bit of the bitmap set (3 siblings: only the top 3 bits may be set).
        #expect(throws: StateProofDecodingError.nonCanonical) {
            try StateProof(decoding: [1, 0, 0, 3, 0b0001_0000])
        }
        // A sibling marked non-zero that is all zeros.
        #expect(throws: StateProofDecodingError.nonCanonical) {
            try StateProof(decoding: [1, 0, 0, 1, 0x80] + [UInt8](repeating: 0, count: 32))
        }
        #expect(throws: StateProofDecodingError.badHex) { try StateProof(hex: "01zz") }
        #expect(throws: StateProofDecodingError.badHex) { try StateProof(hex: "010") }
    }
}
