import KizunaCore
import KizunaStorage
import Synchronization

/// The numbers the block store gives the keys that sign committed transactions (ADR 0029).
///
/// A stored block names each transaction's signer by this number instead of its 32-byte key
/// (`StoredBlockForm`): the key is what a compressor cannot shrink, and a resident signs many
/// transactions over the years. Numbers are given in chain order — the first key to sign is 0,
/// the next new one 1 — and written in the `signers` family (big-endian number → key) in the
/// same batch as the block that first uses them, so a crash keeps both or neither.
///
/// The whole table is held in memory, read once when the store opens: ≈ 130 bytes per
/// signer (measured at a million: ≈ 125 MiB, read in 2.3–2.5 s by a debug build), one scan
/// of the family (`docs/storage.md`).
final class SignerNumbers: Sendable {
    private struct Table {
        var keys: [PublicKey] = []
        var numbers: [PublicKey: UInt32] = [:]
    }

    private let table: Mutex<Table>

    /// Reads every number from `store`; they must run 0, 1, 2, … without a gap, each key once.
    init(store: any KeyValueStore) throws(ChainError) {
        var loaded = Table()
        var problem: String?
        do {
            try store.scan(.signers, from: [], prefix: []) { key, value in
                let expected = UInt32(loaded.keys.count)
                guard key == Self.entryKey(expected) else {
                    problem = "entry \(key.hexString) where number \(expected) was expected"
                    return false
                }
                guard value.count == PublicKey.byteCount, let signer = try? PublicKey(storedBytes: value) else {
                    problem = "number \(expected) holds \(value.count) bytes, not a public key"
                    return false
                }
                guard loaded.numbers.updateValue(expected, forKey: signer) == nil else {
                    problem = "key \(signer.address) has two numbers"
                    return false
                }
                loaded.keys.append(signer)
                return true
            }
        } catch {
            throw ChainError(.storage, "reading the signers family: \(error)")
        }
        if let problem {
            throw ChainError(.corruptIndex, "the signers family is damaged (\(problem)); restore the data folder from a backup or resynchronise the node")
        }
        table = Mutex(loaded)
    }

    /// Keys numbered so far.
    var count: Int { table.withLock { $0.keys.count } }

    /// The number of each transaction's signer in `block`, giving the next numbers to keys
    /// that have none and adding their entries to `batch`. The new numbers are in the table
    /// at once (a block that uses them can only be read once the batch is written); if the
    /// batch is not written, `forgetNewest(added)` takes them back.
    func numbers(forSignersOf block: Block, into batch: inout WriteBatch) -> (numbers: [UInt32], added: Int) {
        table.withLock { table in
            var numbers: [UInt32] = []
            numbers.reserveCapacity(block.transactions.count)
            var added = 0
            for transaction in block.transactions {
                let signer = transaction.transaction.signer
                if let number = table.numbers[signer] {
                    numbers.append(number)
                    continue
                }
                let number = UInt32(table.keys.count)
                table.keys.append(signer)
                table.numbers[signer] = number
                batch.put(signer.bytes, for: Self.entryKey(number), in: .signers)
                numbers.append(number)
                added += 1
            }
            return (numbers, added)
        }
    }

    /// Takes back the `count` numbers given last, when the batch that held them failed.
    func forgetNewest(_ count: Int) {
        guard count > 0 else { return }
        table.withLock { table in
            for signer in table.keys.suffix(count) { table.numbers[signer] = nil }
            table.keys.removeLast(count)
        }
    }

    /// The canonical bytes of a block stored in `StoredBlockForm`'s compact form, its signers'
    /// keys looked up under one lock for the whole block (a commit waits at most that long).
    func canonicalBytes(ofCompact stored: [UInt8]) throws(DecodingError) -> [UInt8] {
        let rebuilt = table.withLock { table -> Result<[UInt8], DecodingError> in
            let keys = table.keys
            return Result { () throws(DecodingError) -> [UInt8] in
                try StoredBlockForm.canonicalBytes(ofCompact: stored) { number in
                    Int(number) < keys.count ? keys[Int(number)].bytes : nil
                }
            }
        }
        return try rebuilt.get()
    }

    /// The canonical bytes of transaction `index` of a block stored in the compact form (nil
    /// when it has fewer), its signer's key looked up under the lock.
    func transactionBytes(at index: Int, ofCompact stored: [UInt8]) throws(DecodingError) -> [UInt8]? {
        let rebuilt = table.withLock { table -> Result<[UInt8]?, DecodingError> in
            let keys = table.keys
            return Result { () throws(DecodingError) -> [UInt8]? in
                try StoredBlockForm.transactionBytes(at: index, ofCompact: stored) { number in
                    Int(number) < keys.count ? keys[Int(number)].bytes : nil
                }
            }
        }
        return try rebuilt.get()
    }

    /// The `signers` family's key of a number: 4 bytes big-endian, so a scan reads them in order.
    static func entryKey(_ number: UInt32) -> [UInt8] { encodeUInt32(number) }
}
