internal import CRocksDB
internal import KizunaStorage

/// Turns RocksDB's error strings into `StorageError`s a person can act on.
enum RocksDBErrors {
    /// Reads the message RocksDB wrote into an errptr and frees it with `rocksdb_free`.
    static func take(_ errptr: UnsafeMutablePointer<CChar>) -> String {
        let message = String(cString: errptr)
        rocksdb_free(errptr)
        return message
    }

    /// True when RocksDB refused to open because its `LOCK` file is held.
    static func isLockHeld(_ raw: String) -> Bool {
        raw.contains("lock hold by current process")
            || (raw.contains("LOCK") && (raw.contains("Resource temporarily unavailable")
                || raw.contains("No locks available") || raw.contains("lock")))
    }

    /// True when the requested compression is not compiled into the library.
    static func isCompressionUnsupported(_ raw: String) -> Bool {
        raw.contains("Compression type") && raw.contains("not linked")
    }

    static func open(_ raw: String, path: String, readOnly: Bool) -> StorageError {
        // The failures a person can act on, first match wins: when it happens, its code, what to do.
        let known: [(when: Bool, code: StorageErrorCode, message: String)] = [
            (raw.contains("Permission denied"), .openFailed,
             "cannot open the store at \(path): permission denied; check the owner and mode of the folder "
                + "and its files."),
            (isLockHeld(raw), .openFailed,
             "cannot open the store at \(path): another process, or another open handle in this process, "
                + "holds its lock (\(path)/LOCK). Only one node may write to a data folder: stop the other "
                + "node or close the other handle, or open the folder read-only to inspect it."),
            (raw.hasPrefix("Corruption"), .corrupted,
             "the store at \(path) is corrupted and cannot be opened; restore the folder from a backup "
                + "or resynchronise the node from its peers."),
            (raw.contains("Column family not found") || raw.contains("column family not found"), .openFailed,
             "the store at \(path) lacks a column family this version of Kizuna needs; it was written by "
                + "an older version or is not a Kizuna store"
                + (readOnly ? " (a read-only open cannot create families; open it read-write once to upgrade)" : "")
                + "."),
            (raw.contains("Column families not opened"), .openFailed,
             "the store at \(path) has column families this version of Kizuna does not know; it was "
                + "probably written by a newer version."),
            (raw.contains("No space left on device"), .openFailed,
             "cannot open the store at \(path): the disk is full; free some space."),
            (raw.contains("Not a directory"), .openFailed,
             "cannot open the store at \(path): a part of the path is a file, not a folder."),
            (readOnly && raw.contains("No such file or directory"), .openFailed,
             "there is no store at \(path) (a read-only open does not create one); check the path."),
        ]
        if let match = known.first(where: { $0.when }) {
            return StorageError(match.code, match.message + " (RocksDB: \(raw))")
        }
        return StorageError(.openFailed, "cannot open the store at \(path): \(raw)")
    }

    /// The error for a store that reports corruption while `what` ("reading a key", "writing to").
    private static func corruption(_ raw: String, path: String, while what: String) -> StorageError {
        StorageError(
            .corrupted,
            "corruption while \(what) the store at \(path); restore the folder from a backup or "
                + "resynchronise the node from its peers (RocksDB: \(raw))")
    }

    static func read(_ raw: String, path: String, what: String) -> StorageError {
        if raw.hasPrefix("Corruption") { return corruption(raw, path: path, while: "\(what) in") }
        return StorageError(.readFailed, "failed \(what) in the store at \(path): \(raw)")
    }

    static func write(_ raw: String, path: String, sync: Bool) -> StorageError {
        if raw.hasPrefix("Corruption") { return corruption(raw, path: path, while: "writing to") }
        var hint = ""
        if raw.contains("No space left on device") {
            hint = "; the disk is full, free some space and restart the node"
        } else if raw.contains("read only") || raw.contains("Not supported operation in read only mode") {
            hint = "; the store is open read-only"
        } else if raw.contains("Permission denied") {
            hint = "; check the owner and mode of the folder and its files"
        }
        return StorageError(
            .writeFailed,
            "failed to write a batch\(sync ? " (synced)" : "") to the store at \(path)\(hint) (RocksDB: \(raw))")
    }
}
