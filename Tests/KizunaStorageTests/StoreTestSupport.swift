import Foundation
import KizunaCore
import KizunaRocksDB
import KizunaStorage
import Testing

/// The implementations the shared protocol suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case rocksDB

    var testDescription: String { rawValue }
}

/// A fresh, uniquely named folder under the temporary directory, removed when `body` returns
/// or throws. The folder itself is not created: the store creates it.
func withTemporaryFolder<Result>(_ body: (String) throws -> Result) throws -> Result {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("kizuna-storage-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder.path)
}

/// Runs `body` with a new, empty store of `kind`; a RocksDB store lives in a temporary
/// folder that is closed and removed afterwards.
func withStore<Result>(_ kind: StoreKind, _ body: (any KeyValueStore) throws -> Result) throws -> Result {
    switch kind {
    case .memory:
        return try body(MemoryStore())
    case .rocksDB:
        return try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            defer { store.close() }
            return try body(store)
        }
    }
}

extension KeyValueStore {
    func put(_ value: [UInt8], for key: [UInt8], in family: ColumnFamily, sync: Bool = false) throws {
        var batch = WriteBatch()
        batch.put(value, for: key, in: family)
        try write(batch, sync: sync)
    }

    func delete(_ key: [UInt8], in family: ColumnFamily) throws {
        var batch = WriteBatch()
        batch.delete(key, in: family)
        try write(batch, sync: false)
    }

    /// Every key a full scan from `start` under `prefix` visits, in order.
    func keys(_ family: ColumnFamily, from start: [UInt8] = [], prefix: [UInt8] = []) throws -> [[UInt8]] {
        var keys: [[UInt8]] = []
        try scan(family, from: start, prefix: prefix) { key, _ in
            keys.append(key)
            return true
        }
        return keys
    }
}

struct TestFailure: Error, Equatable {
    let tag: Int
}
