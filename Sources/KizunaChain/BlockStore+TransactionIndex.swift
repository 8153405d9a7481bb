public import KizunaCore
public import KizunaLedger
import KizunaStorage

// Lookups of the `transactions` family (`TransactionIndex`, ADR 0031): by 8 bytes of the id,
// each listed position confirmed against its block; and, in a store moved from a version
// before 5, the entries keyed by whole ids.

extension BlockStore {
    /// Where a committed transaction is (height and index), or nil.
    ///
    /// The entry under the id's first 8 bytes lists every committed transaction with that
    /// prefix (`TransactionIndex`, ADR 0031); each is read from its block and its whole id
    /// compared, so the answer is this transaction's receipt or none. An id never committed
    /// costs one `get` (two in a store whose older entries are keyed by whole ids).
    public func receipt(of transactionId: Hash) throws(ChainError) -> Receipt? {
        guard keepsIndexes else {
            throw ChainError(.storage, "this replica keeps no transaction index (an auditor's replay): transaction \(transactionId) cannot be looked up here")
        }
        for position in try listedPositions(of: transactionId) where try self.transactionId(at: position) == transactionId {
            return Receipt(transactionId: transactionId, height: position.height, index: position.index)
        }
        guard transactionIndexHasLongKeys else { return nil }
        return try longKeyReceipt(of: transactionId)
    }

    /// The positions the `transactions` family gives for `transactionId`, unconfirmed: those
    /// of its 8-byte key's entry (which may include another transaction sharing the prefix) and
    /// the one under its whole id in a store written before version 5. What `ChainVerifier`
    /// checks a block's transactions against, without reading each block again.
    func indexedPositions(of transactionId: Hash) throws(ChainError) -> [ChainPosition] {
        var positions = try listedPositions(of: transactionId)
        if transactionIndexHasLongKeys, let receipt = try longKeyReceipt(of: transactionId) {
            positions.append(ChainPosition(height: receipt.height, index: receipt.index))
        }
        return positions
    }

    /// The positions the entry under `transactionId`'s 8-byte key lists (none without one).
    private func listedPositions(of transactionId: Hash) throws(ChainError) -> [ChainPosition] {
        guard let entry = try read(TransactionIndex.key(transactionId), in: .transactions) else { return [] }
        guard let positions = TransactionIndex.positions(inEntry: entry) else {
            throw ChainError(.corruptIndex, "the index entry of transaction \(transactionId) (\(entry.count) bytes) is not a list of 12-byte positions")
        }
        return positions
    }

    /// The id of the transaction at `position`, read from its stored block; refused as a
    /// corrupt index when there is no such transaction (an index entry points there).
    func transactionId(at position: ChainPosition) throws(ChainError) -> Hash {
        try checkHeld(position.height)
        guard let stored = try read(encodeUInt64(position.height), in: .blocks) else {
            throw ChainError(.corruptIndex, "the transaction index points at block \(position.height), which is not stored")
        }
        let transaction: SignedTransaction?
        do {
            if StoredBlockForm.isCompact(stored) {
                transaction = try signerNumbers.transactionBytes(at: Int(position.index), ofCompact: stored)
                    .map { bytes throws(DecodingError) in try SignedTransaction(storedBytes: bytes) }
            } else {
                let block = try Block(storedBytes: stored)
                transaction = Int(position.index) < block.transactions.count ? block.transactions[Int(position.index)] : nil
            }
        } catch {
            throw ChainError(.corruptBlock, "block \(position.height) does not decode: \(error)")
        }
        guard let transaction else {
            throw ChainError(.corruptIndex, "the transaction index points at transaction \(position.index) of block \(position.height), which has fewer")
        }
        return transaction.id
    }

    /// The entry a store before format version 5 keyed by the whole id: the position alone,
    /// `height ‖ index` (12 bytes, ADR 0020), or in folders older still the whole receipt
    /// (id ‖ height ‖ index, 44 bytes); both read the same.
    private func longKeyReceipt(of transactionId: Hash) throws(ChainError) -> Receipt? {
        guard let bytes = try read(transactionId.bytes, in: .transactions) else { return nil }
        if bytes.count == TransactionIndex.positionBytes {
            var decoder = Decoder(bytes)
            guard let height = try? decoder.decodeUInt64(), let index = try? decoder.decodeUInt32(), (try? decoder.finish()) != nil else {
                throw ChainError(.corruptIndex, "the index entry of transaction \(transactionId) does not decode as height and index")
            }
            return Receipt(transactionId: transactionId, height: height, index: index)
        }
        let receipt: Receipt
        do {
            receipt = try Receipt(storedBytes: bytes)
        } catch {
            throw ChainError(.corruptIndex, "the index entry of transaction \(transactionId) does not decode: \(error)")
        }
        guard receipt.transactionId == transactionId else {
            throw ChainError(.corruptIndex, "the index entry of transaction \(transactionId) names transaction \(receipt.transactionId)")
        }
        return receipt
    }

    /// The transactions the `transactions` family indexes: one per position of an 8-byte
    /// key's entry, one per entry keyed by a whole id (stores before version 5).
    func indexedTransactionCount() throws(ChainError) -> Int {
        var count = 0
        var malformed: [UInt8]?
        do {
            try store.scan(.transactions, from: [], prefix: []) { key, value in
                if key.count == Hash.byteCount {
                    count += 1
                } else if key.count == TransactionIndex.keyBytes, let positions = TransactionIndex.positions(inEntry: value) {
                    count += positions.count
                } else {
                    malformed = key
                    return false
                }
                return true
            }
        } catch {
            throw ChainError(.storage, "reading transactions: \(error)")
        }
        if let malformed {
            throw ChainError(.corruptIndex, "the transaction index holds a malformed entry under key \(malformed.hexString)")
        }
        return count
    }
}
