import Foundation
import KizunaCore
import KizunaRocksDB
import KizunaStorage
import Testing

/// Behaviour only a store on disk has: persistence, locking, read-only mode, errors.
@Suite("RocksDBStore")
struct RocksDBStoreTests {
    @Test("data persists across close and reopen, synced or not")
    func persistenceAcrossReopen() throws {
        try withTemporaryFolder { path in
            do {
                let store = try RocksDBStore(path: path)
                var batch = WriteBatch()
                batch.put([1], for: [0x01], in: .meta)
                batch.put([2], for: [0x02], in: .blocks)
                try store.write(batch, sync: true)
                try store.put([3], for: [0x03], in: .state, sync: false)
                try store.delete([0x01], in: .meta)
                store.close()
            }
            let reopened = try RocksDBStore(path: path)
            defer { reopened.close() }
            #expect(try reopened.get([0x01], in: .meta) == nil)
            #expect(try reopened.get([0x02], in: .blocks) == [2])
            #expect(try reopened.get([0x03], in: .state) == [3])
        }
    }

    @Test("the first open creates the folder and every column family")
    func createsFolder() throws {
        try withTemporaryFolder { path in
            #expect(!FileManager.default.fileExists(atPath: path))
            let store = try RocksDBStore(path: path)
            defer { store.close() }
            #expect(FileManager.default.fileExists(atPath: path + "/CURRENT"))
            for family in ColumnFamily.allCases {
                #expect(try store.keys(family).isEmpty)
            }
        }
    }

    @Test("family usage counts every entry and its key and value bytes, per column family")
    func familyUsageCountsEntriesAndBytes() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            defer { store.close() }
            var batch = WriteBatch()
            batch.put([1, 2, 3], for: [9], in: .blocks)
            batch.put([4, 5], for: [8, 7], in: .blocks)
            batch.put([], for: [1, 1, 1, 1], in: .accountHistory)
            try store.write(batch, sync: true)
            let usage = Dictionary(uniqueKeysWithValues: try store.familyUsage().map { ($0.family, $0) })
            #expect(usage.count == ColumnFamily.allCases.count)
            #expect(usage["blocks"]?.entries == 2 && usage["blocks"]?.keyBytes == 3 && usage["blocks"]?.valueBytes == 5)
            #expect(usage[ColumnFamily.accountHistory.rawValue]?.entries == 1 && usage[ColumnFamily.accountHistory.rawValue]?.keyBytes == 4)
            #expect(usage["state"]?.entries == 0)
        }
    }

    @Test("read-only open sees the data and refuses writes with a clear error")
    func readOnlyOpen() throws {
        try withTemporaryFolder { path in
            do {
                let writer = try RocksDBStore(path: path)
                try writer.put([1], for: [0x01], in: .state, sync: true)
                writer.close()
            }
            let reader = try RocksDBStore(path: path, readOnly: true)
            defer { reader.close() }
            #expect(reader.isReadOnly)
            #expect(try reader.get([0x01], in: .state) == [1])
            #expect(try reader.keys(.state) == [[0x01]])
            let error = #expect(throws: StorageError.self) {
                try reader.put([2], for: [0x02], in: .state)
            }
            #expect(error?.code == .writeFailed)
            #expect(error?.message.contains("read-only") == true)
            #expect(error?.message.contains(path) == true)
            // compact() is a no-op on a read-only store.
            reader.compact()
        }
    }

    @Test("read-only open works beside a writer and sees the data as of its open")
    func readOnlyBesideWriter() throws {
        try withTemporaryFolder { path in
            let writer = try RocksDBStore(path: path)
            defer { writer.close() }
            try writer.put([1], for: [0x01], in: .state, sync: true)

            let reader = try RocksDBStore(path: path, readOnly: true)
            defer { reader.close() }
            #expect(try reader.get([0x01], in: .state) == [1])

            try writer.put([2], for: [0x02], in: .state, sync: true)
            #expect(try reader.get([0x02], in: .state) == nil)

            let later = try RocksDBStore(path: path, readOnly: true)
            defer { later.close() }
            #expect(try later.get([0x02], in: .state) == [2])
        }
    }

    @Test("read-only open of a missing folder fails and creates nothing")
    func readOnlyMissingFolder() throws {
        try withTemporaryFolder { path in
            let error = #expect(throws: StorageError.self) {
                _ = try RocksDBStore(path: path, readOnly: true)
            }
            #expect(error?.code == .openFailed)
            #expect(error?.message.contains(path) == true)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("a second handle on the same folder is refused while the first is open")
    func secondHandleRefused() throws {
        try withTemporaryFolder { path in
            let first = try RocksDBStore(path: path)
            let error = #expect(throws: StorageError.self) {
                _ = try RocksDBStore(path: path)
            }
            #expect(error?.code == .openFailed)
            #expect(error?.message.contains("holds its lock") == true)
            #expect(error?.message.contains(path) == true)
            // Once the first is closed the folder can be opened again.
            first.close()
            let second = try RocksDBStore(path: path)
            second.close()
        }
    }

    @Test("a path that is a regular file fails with openFailed")
    func regularFileFails() throws {
        try withTemporaryFolder { path in
            #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
            for readOnly in [false, true] {
                let error = #expect(throws: StorageError.self) {
                    _ = try RocksDBStore(path: path, readOnly: readOnly)
                }
                #expect(error?.code == .openFailed)
                #expect(error?.message.contains(path) == true)
            }
        }
    }

    @Test("a path inside a regular file fails with openFailed")
    func pathUnderFileFails() throws {
        try withTemporaryFolder { path in
            #expect(FileManager.default.createFile(atPath: path, contents: Data([1])))
            let error = #expect(throws: StorageError.self) {
                _ = try RocksDBStore(path: path + "/data")
            }
            #expect(error?.code == .openFailed)
            #expect(error?.message.contains(path + "/data") == true)
        }
    }

    @Test("close is idempotent and every later call throws closed")
    func operationsAfterClose() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            try store.put([1], for: [1], in: .meta)
            #expect(!store.isClosed)
            store.close()
            store.close()
            #expect(store.isClosed)
            #expect(throws: StorageError(.closed, "")) { _ = try store.get([1], in: .meta) }
            #expect(throws: StorageError(.closed, "")) { try store.put([1], for: [1], in: .meta) }
            #expect(throws: StorageError(.closed, "")) {
                try store.scan(.meta, from: [], prefix: []) { _, _ in true }
            }
            store.compact()
            #expect(store.diskUsageBytes() > 0)
        }
    }

    @Test("close inside a scan body takes effect when the scan returns")
    func closeDuringScan() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            for value in UInt8(0)..<3 { try store.put([value], for: [value], in: .meta) }
            var seen = 0
            try store.scan(.meta, from: [], prefix: []) { _, _ in
                seen += 1
                store.close()
                return true
            }
            #expect(seen == 3)
            #expect(throws: StorageError(.closed, "")) { _ = try store.get([0], in: .meta) }
            // The lock was released when the scan ended.
            let reopened = try RocksDBStore(path: path)
            reopened.close()
        }
    }

    @Test("deinit closes the store and releases the lock")
    func deinitCloses() throws {
        try withTemporaryFolder { path in
            func openAndDrop() throws {
                let store = try RocksDBStore(path: path)
                try store.put([1], for: [1], in: .meta, sync: true)
            }
            try openAndDrop()
            let reopened = try RocksDBStore(path: path)
            defer { reopened.close() }
            #expect(try reopened.get([1], in: .meta) == [1])
        }
    }

    @Test("compact keeps the data and disk usage is measured")
    func compactAndDiskUsage() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            defer { store.close() }
            var batch = WriteBatch()
            for index in 0..<2_000 {
                let key = [UInt8(index >> 8), UInt8(index & 0xFF)]
                batch.put(Array(repeating: UInt8(index & 0x0F), count: 256), for: key, in: .blocks)
            }
            try store.write(batch, sync: true)
            for index in stride(from: 0, to: 2_000, by: 2) {
                try store.delete([UInt8(index >> 8), UInt8(index & 0xFF)], in: .blocks)
            }
            store.compact()
            #expect(store.diskUsageBytes() > 0)
            #expect(try store.keys(.blocks).count == 1_000)
            #expect(try store.get([0, 1], in: .blocks) == Array(repeating: 1, count: 256))
            #expect(try store.get([0, 2], in: .blocks) == nil)
        }
    }

    @Test("the configuration can be tuned")
    func customConfiguration() throws {
        try withTemporaryFolder { path in
            var configuration = RocksDBConfiguration()
            configuration.blockCacheBytes = 1 << 20
            configuration.writeBufferBytes = 1 << 20
            configuration.compression = .none
            let store = try RocksDBStore(path: path, configuration: configuration)
            defer { store.close() }
            #expect(store.configuration == configuration)
            try store.put([1], for: [1], in: .meta)
            #expect(try store.get([1], in: .meta) == [1])
        }
    }
}

extension RocksDBStoreTests {
    @Test("missing parent folders are created")
    func createsParentFolders() throws {
        try withTemporaryFolder { path in
            let nested = path + "/a/b/data"
            let store = try RocksDBStore(path: nested)
            defer { store.close() }
            try store.put([1], for: [1], in: .meta, sync: true)
            #expect(FileManager.default.fileExists(atPath: nested + "/CURRENT"))
        }
    }
}
