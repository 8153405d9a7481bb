public import KizunaConsensus
import KizunaCore
import KizunaChain
import KizunaRocksDB
import KizunaStorage
import Foundation

/// A validator's consensus journal in its data folder (`<dataDirectory>/chain`, the store's
/// `consensus` column family): created once for a new validator (`kizuna signer init`), read by
/// `kizuna signer show`, and — for a node set up by an earlier version, which kept the signer
/// record in a file of its own — filled once from that file (`docs/consensus.md` §7).
public enum ValidatorJournal {
    /// The store of a data folder.
    public static func storePath(dataDirectory: String) -> String { dataDirectory + "/chain" }

    /// Writes the record of a key that has signed nothing into the data folder's journal,
    /// creating the folder and the store if needed; refuses if a record is there.
    public static func initialize(dataDirectory: String) throws(SignerError) {
        try withJournal(dataDirectory: dataDirectory) { (journal: inout StoreConsensusJournal) throws(SignerError) in
            try journal.createInitialRecord()
        }
    }

    /// What the key signed last, as the data folder's journal says (nil: no record).
    public static func record(dataDirectory: String) throws(SignerError) -> SignerSafetyRecord? {
        try withJournal(dataDirectory: dataDirectory, create: false) { (journal: inout StoreConsensusJournal) throws(SignerError) in
            try journal.signerRecord()
        }
    }

    /// Opens the data folder's store, runs `body` on its journal, closes the store.
    public static func withJournal<Result>(dataDirectory: String, create: Bool = true,
                                           _ body: (inout StoreConsensusJournal) throws(SignerError) -> Result) throws(SignerError) -> Result {
        let path = storePath(dataDirectory: dataDirectory)
        if !create, !FileManager.default.fileExists(atPath: path) {
            throw SignerError(.recordMissing, "no store at \(path) (is --data the node's dataDirectory?)")
        }
        let store: RocksDBStore
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            store = try RocksDBStore(path: path)
        } catch {
            throw SignerError(.ioFailure, "opening \(path): \(error)")
        }
        defer { store.close() }
        var journal = StoreConsensusJournal(store: store)
        return try body(&journal)
    }

    /// If the journal has no signer record and the record file of an earlier version exists,
    /// imports it and renames the file to `<file>.imported` (so it can never be imported again
    /// over a newer record). Returns whether it imported.
    public static func importRecordFile(at path: String, into journal: inout StoreConsensusJournal) throws(SignerError) -> Bool {
        guard try journal.signerRecord() == nil, FileManager.default.fileExists(atPath: path) else { return false }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw SignerError(.ioFailure, "reading \(path): \(error)")
        }
        let record = try SignerSafetyRecord(journalBytes: bytes, source: path)
        try journal.importRecord(record)
        do {
            try FileManager.default.moveItem(atPath: path, toPath: path + ".imported")
        } catch {
            throw SignerError(.ioFailure, "imported \(path) into the consensus journal, but could not rename it to \(path).imported: \(error); remove it by hand")
        }
        return true
    }
}
