import Foundation
import KizunaCore
import KizunaRocksDB
import KizunaStorage
import Testing

/// What a store keeps on disk (ADR 0020): a clean close leaves no write-ahead log to replay,
/// and table files are compressed with the configured codec.
@Suite("RocksDB footprint")
struct RocksDBFootprintTests {
    /// Bytes in the folder's files whose name ends with `suffix`.
    static func bytes(in path: String, endingWith suffix: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(suffix) }.reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? Int) ?? 0)
        }
    }

    @Test("a clean close flushes the memtables: the log is emptied and the data is in table files")
    func closeFlushes() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            var batch = WriteBatch()
            for index in 0..<2_000 {
                batch.put(Array(repeating: UInt8(index % 251), count: 500), for: Array("key-\(index)".utf8), in: .blocks)
            }
            try store.write(batch, sync: true)
            #expect(try Self.bytes(in: path, endingWith: ".log") >= 1_000_000, "the write went through the log")
            store.close()
            #expect(try Self.bytes(in: path, endingWith: ".log") < 10_000, "the log still holds the data after a clean close")
            #expect(try Self.bytes(in: path, endingWith: ".sst") > 0)
            let reopened = try RocksDBStore(path: path)
            defer { reopened.close() }
            #expect(try reopened.get(Array("key-1999".utf8), in: .blocks) == Array(repeating: UInt8(1999 % 251), count: 500))
        }
    }

    @Test("a clean close compacts the consensus journal's family: the versions it overwrote leave the disk")
    func closeCompactsTheJournal() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            // Three versions of one journal record of 100 KB (incompressible, as a proposed
            // block's signatures are), each flushed to its own table file: fewer files than
            // RocksDB's own compaction trigger, so only the close can merge them.
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<3 {
                var batch = WriteBatch()
                batch.put((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }, for: Array("record".utf8), in: .consensus)
                try store.write(batch, sync: true)
                store.flushMemtables()
            }
            let before = try #require(try store.familyUsage().first { $0.family == ColumnFamily.consensus.rawValue })
            #expect(before.tableFileBytes >= 250_000, "three flushed versions are on disk before the close")
            store.close()
            let reopened = try RocksDBStore(path: path)
            defer { reopened.close() }
            let after = try #require(try reopened.familyUsage().first { $0.family == ColumnFamily.consensus.rawValue })
            #expect(after.entries == 1)
            #expect(after.tableFileBytes < 150_000, "the overwritten versions stayed on disk after a clean close: \(after.tableFileBytes) bytes")
        }
    }

    /// Three flushed versions of 20 tree pages of 10 KB (incompressible, as hashes are) and of
    /// one state value, closed with `limit` as the state's compaction bound; the tree's table
    /// bytes after reopening.
    func stateTreeBytesAfterClose(limit: UInt64) throws -> (before: UInt64, after: UInt64, entries: Int) {
        var result: (before: UInt64, after: UInt64, entries: Int) = (0, 0, 0)
        try withTemporaryFolder { path in
            var configuration = RocksDBConfiguration.default
            configuration.stateCompactionAtCloseBytesMax = limit
            let store = try RocksDBStore(path: path, configuration: configuration)
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<3 {
                var batch = WriteBatch()
                for page in 0..<20 {
                    batch.put((0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }, for: [0x50, UInt8(page)], in: .stateTree)
                }
                batch.put(Array("an account".utf8), for: Array("account".utf8), in: .state)
                try store.write(batch, sync: true)
                store.flushMemtables()
            }
            result.before = try #require(try store.familyUsage().first { $0.family == ColumnFamily.stateTree.rawValue }).tableFileBytes
            store.close()
            let reopened = try RocksDBStore(path: path, configuration: configuration)
            defer { reopened.close() }
            let after = try #require(try reopened.familyUsage().first { $0.family == ColumnFamily.stateTree.rawValue })
            result.after = after.tableFileBytes
            result.entries = after.entries
        }
        return result
    }

    @Test("a clean close compacts the state and its tree while their table files are within the limit (ADR 0030)")
    func closeCompactsASmallState() throws {
        let small = try stateTreeBytesAfterClose(limit: RocksDBConfiguration.default.stateCompactionAtCloseBytesMax)
        #expect(small.before >= 550_000, "three flushed versions are on disk before the close: \(small.before) bytes")
        #expect(small.entries == 20)
        #expect(small.after < 300_000, "the overwritten pages stayed on disk after a clean close: \(small.after) bytes")
    }

    @Test("above the limit (here 100 KB) a clean close leaves the state and its tree to RocksDB")
    func closeLeavesALargeState() throws {
        let large = try stateTreeBytesAfterClose(limit: 100_000)
        #expect(large.entries == 20)
        #expect(large.after >= 550_000, "the tree was compacted although it was over the limit: \(large.after) bytes")
    }

    @Test("table files are compressed with Zstandard by default, the state tree's not at all")
    func zstdByDefault() throws {
        try withTemporaryFolder { path in
            #expect(RocksDBConfiguration.default.compression == .zstd)
            let store = try RocksDBStore(path: path)
            store.close()
            let optionsFile = try #require(try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("OPTIONS-") }.max())
            let text = try String(contentsOfFile: path + "/" + optionsFile, encoding: .utf8)
            // Each family's section names its codec (`compression=k…`) before the next section.
            func codec(of family: String) -> String? {
                guard let start = text.range(of: "[CFOptions \"\(family)\"]") else { return nil }
                let section = text[start.upperBound...].prefix { $0 != "[" }
                return section.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("compression=") }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
            }
            #expect(codec(of: ColumnFamily.blocks.rawValue) == "compression=kZSTD")
            #expect(codec(of: ColumnFamily.accountHistory.rawValue) == "compression=kZSTD")
            #expect(codec(of: ColumnFamily.stateTree.rawValue) == "compression=kNoCompression")
        }
    }
}
