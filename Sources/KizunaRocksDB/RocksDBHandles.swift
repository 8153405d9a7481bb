internal import CRocksDB
internal import KizunaStorage

/// The open RocksDB handles of one store. Created once by `open`, destroyed once by `destroy`.
final class Handles {
    let db: OpaquePointer
    let defaultFamily: OpaquePointer
    let families: [ColumnFamily: OpaquePointer]
    let readOptions: OpaquePointer
    let writeOptions: OpaquePointer
    /// Write options with `sync`: the write-ahead log is fsynced before `rocksdb_write` returns.
    let syncWriteOptions: OpaquePointer

    init(db: OpaquePointer, defaultFamily: OpaquePointer, families: [ColumnFamily: OpaquePointer]) {
        self.db = db
        self.defaultFamily = defaultFamily
        self.families = families
        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        syncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWriteOptions, 1)
    }

    func family(_ family: ColumnFamily) -> OpaquePointer {
        families[family]!
    }

    var allFamilies: [OpaquePointer] {
        [defaultFamily] + ColumnFamily.allCases.map { families[$0]! }
    }

    /// Frees every handle. Column family handles must go before the DB is closed.
    func destroy() {
        for family in allFamilies {
            rocksdb_column_family_handle_destroy(family)
        }
        rocksdb_close(db)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_writeoptions_destroy(syncWriteOptions)
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with a C pointer to the bytes and their count. The pointer is never nil,
    /// even for an empty array (RocksDB slices want a valid pointer).
    func withCBytes<Result>(_ body: (UnsafePointer<CChar>, Int) -> Result) -> Result {
        withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                var empty: CChar = 0
                return withUnsafePointer(to: &empty) { body($0, 0) }
            }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0, buffer.count) }
        }
    }
}
