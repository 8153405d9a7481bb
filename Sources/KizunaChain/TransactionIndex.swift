import KizunaCore
import KizunaLedger
import KizunaStorage

/// The `transactions` family from store format version 5 (ADR 0031): where each committed
/// transaction is, found by its id.
///
///     key    the first 8 bytes of the transaction id
///     value  one position per transaction whose id starts with those bytes,
///            each `u64 height ‖ u32 index` (12 bytes), in the order they were committed
///
/// Before version 5 the key was the whole 32-byte id (ADR 0020): 40 bytes a transaction on
/// disk, a quarter of what grows with the chain, for bytes that a random id cannot compress.
/// Eight bytes are enough to find a transaction, not to prove it is the one: two ids sharing
/// them are expected after ≈ 4 × 10⁹ transactions, and anyone can make two of their own in
/// ≈ 2³² hashes. So the entry holds every position with that prefix, and a lookup reads each
/// position's transaction and compares the whole id (`BlockStore.receipt(of:)`): an answer is
/// exact, never a neighbour's receipt. A lookup of an id that was never committed — the one
/// admission and every proposal's check make for each new transaction — is one `get` of a key
/// that is usually absent, as before.
///
/// Writing an entry reads the key first (a commit's one extra `get` per transaction), so that a
/// second transaction with the same prefix adds its position instead of replacing the first's.
public enum TransactionIndex {
    /// The bytes of a transaction id that key its entry.
    public static let keyBytes = 8
    /// The bytes of one position in an entry: height (8) and index (4).
    public static let positionBytes = 12

    /// The key of the entry that holds `transactionId`'s position.
    public static func key(_ transactionId: Hash) -> [UInt8] {
        Array(transactionId.bytes.prefix(keyBytes))
    }

    /// The positions an entry holds; nil when its bytes are not a whole number of positions.
    public static func positions(inEntry entry: [UInt8]) -> [ChainPosition]? {
        guard !entry.isEmpty, entry.count % positionBytes == 0 else { return nil }
        var positions: [ChainPosition] = []
        positions.reserveCapacity(entry.count / positionBytes)
        var decoder = Decoder(entry)
        while decoder.remaining > 0 {
            guard let height = try? decoder.decodeUInt64(), let index = try? decoder.decodeUInt32() else { return nil }
            positions.append(ChainPosition(height: height, index: index))
        }
        return positions
    }

    /// One position's bytes, as an entry holds it.
    static func bytes(of position: ChainPosition) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(position.height, position.index)
        return encoder.bytes
    }

    /// Puts the entries of `receipts` into `batch`: each receipt's position appended to what
    /// its key already holds, in the store (`stored`) or earlier in this batch.
    /// - Returns: how many receipts joined an entry that already held a position (a shared
    ///   prefix; zero almost always).
    @discardableResult
    static func addEntries<Receipts: Sequence, Failure: Error>(of receipts: Receipts, to batch: inout WriteBatch,
                                                               stored: ([UInt8]) throws(Failure) -> [UInt8]?) throws(Failure) -> Int where Receipts.Element == Receipt {
        // Keys of this batch in the order first met, and where each is in that list (a block
        // rarely has two ids with one prefix, but a lookup per receipt must not scan the list).
        var written: [(key: [UInt8], entry: [UInt8])] = []
        var writtenAt: [UInt64: Int] = [:]
        var shared = 0
        for receipt in receipts {
            let key = key(receipt.transactionId)
            let prefix = key.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
            let position = bytes(of: ChainPosition(height: receipt.height, index: receipt.index))
            if let earlier = writtenAt[prefix] {
                written[earlier].entry += position
                shared += 1
            } else if let existing = try stored(key) {
                writtenAt[prefix] = written.count
                written.append((key, existing + position))
                shared += 1
            } else {
                writtenAt[prefix] = written.count
                written.append((key, position))
            }
        }
        for (key, entry) in written { batch.put(entry, for: key, in: .transactions) }
        return shared
    }
}
