public import KizunaCore

extension StateTree {
    /// The root of the tree holding exactly `entries` (key hash → value hash), computed
    /// from scratch by splitting on bits: the reference that incremental updates must
    /// match. Pure, no storage; cost proportional to the number of entries. Entries are
    /// sorted by key first, so the dictionary's iteration order plays no part.
    public static func computeRoot(of entries: [Hash: Hash]) -> Hash {
        let sorted = entries.map { (key: $0.key, valueHash: $0.value) }.sorted { $0.key < $1.key }
        return subtreeHash(sorted[...], depth: 0)
    }

    private static func subtreeHash(_ entries: ArraySlice<(key: Hash, valueHash: Hash)>, depth: Int) -> Hash {
        switch entries.count {
        case 0:
            return emptyRoot
        case 1:
            let entry = entries[entries.startIndex]
            return leafHash(key: entry.key, valueHash: entry.valueHash)
        default:
            let split = entries.firstIndex { $0.key.bit(depth) == 1 } ?? entries.endIndex
            return nodeHash(
                left: subtreeHash(entries[..<split], depth: depth + 1),
                right: subtreeHash(entries[split...], depth: depth + 1)
            )
        }
    }
}
