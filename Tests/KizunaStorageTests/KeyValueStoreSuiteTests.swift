import Foundation
import KizunaCore
import KizunaRocksDB
import KizunaStorage
import Testing

/// The protocol suite: every test runs against `MemoryStore` and `RocksDBStore` and must
/// give the same results, so code tested on memory behaves the same on disk.
@Suite("KeyValueStore protocol")
struct KeyValueStoreSuiteTests {
    @Test("put, get, overwrite and delete", arguments: StoreKind.allCases)
    func putGetDelete(kind: StoreKind) throws {
        try withStore(kind) { store in
            #expect(try store.get([1, 2, 3], in: .state) == nil)
            try store.put([9, 9], for: [1, 2, 3], in: .state)
            #expect(try store.get([1, 2, 3], in: .state) == [9, 9])
            try store.put([7], for: [1, 2, 3], in: .state)
            #expect(try store.get([1, 2, 3], in: .state) == [7])
            try store.delete([1, 2, 3], in: .state)
            #expect(try store.get([1, 2, 3], in: .state) == nil)
            // Deleting a missing key is not an error.
            try store.delete([4, 5], in: .state)
        }
    }

    @Test("empty value is distinct from absent; empty key is a key", arguments: StoreKind.allCases)
    func emptyKeyAndValue(kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.put([], for: [0x42], in: .meta)
            #expect(try store.get([0x42], in: .meta) == [])
            try store.put([1], for: [], in: .meta)
            #expect(try store.get([], in: .meta) == [1])
            #expect(try store.keys(.meta) == [[], [0x42]])
        }
    }

    @Test("families are independent", arguments: StoreKind.allCases)
    func familiesAreIndependent(kind: StoreKind) throws {
        try withStore(kind) { store in
            for (index, family) in ColumnFamily.allCases.enumerated() {
                try store.put([UInt8(index)], for: [0xAA], in: family)
            }
            for (index, family) in ColumnFamily.allCases.enumerated() {
                #expect(try store.get([0xAA], in: family) == [UInt8(index)])
                #expect(try store.keys(family) == [[0xAA]])
            }
        }
    }

    @Test("a batch applies many operations across families", arguments: StoreKind.allCases)
    func atomicBatchAcrossFamilies(kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.put([0], for: [0xEE], in: .blocks)
            var batch = WriteBatch()
            for index in 0..<200 {
                let family = ColumnFamily.allCases[index % ColumnFamily.allCases.count]
                batch.put([UInt8(index & 0xFF), 1], for: [UInt8(index >> 8), UInt8(index & 0xFF)], in: family)
            }
            batch.delete([0xEE], in: .blocks)
            // Later operations on the same key win, as in RocksDB.
            batch.put([1], for: [0xDD], in: .meta)
            batch.delete([0xDD], in: .meta)
            batch.put([2], for: [0xDC], in: .meta)
            batch.put([3], for: [0xDC], in: .meta)
            try store.write(batch, sync: true)

            for index in 0..<200 {
                let family = ColumnFamily.allCases[index % ColumnFamily.allCases.count]
                #expect(try store.get([UInt8(index >> 8), UInt8(index & 0xFF)], in: family) == [UInt8(index & 0xFF), 1])
            }
            #expect(try store.get([0xEE], in: .blocks) == nil)
            #expect(try store.get([0xDD], in: .meta) == nil)
            #expect(try store.get([0xDC], in: .meta) == [3])
            let total = try ColumnFamily.allCases.reduce(0) { $0 + (try store.keys($1).count) }
            #expect(total == 201)
        }
    }

    @Test("an empty batch is accepted", arguments: StoreKind.allCases)
    func emptyBatch(kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.write(WriteBatch(), sync: true)
            try store.write(WriteBatch(), sync: false)
        }
    }

    @Test("keys are ordered as unsigned bytes", arguments: StoreKind.allCases)
    func unsignedByteOrdering(kind: StoreKind) throws {
        try withStore(kind) { store in
            let keys: [[UInt8]] = [[0xFF], [0x00, 0x01], [0x80], [0x7F, 0xFF], [0x00], [0x01], [0xFF, 0x00]]
            for key in keys { try store.put([1], for: key, in: .state) }
            #expect(try store.keys(.state) == [[0x00], [0x00, 0x01], [0x01], [0x7F, 0xFF], [0x80], [0xFF], [0xFF, 0x00]])
            #expect(try store.last(in: .state)?.key == [0xFF, 0x00])
        }
    }

    @Test("a prefix scan stops at the end of the prefix", arguments: StoreKind.allCases)
    func prefixScanStopsAtPrefixEnd(kind: StoreKind) throws {
        try withStore(kind) { store in
            for key: [UInt8] in [[0x01, 0xFF], [0x02], [0x02, 0x00], [0x02, 0xFF, 0xFF], [0x03], [0x03, 0x00]] {
                try store.put(key, for: key, in: .blocks)
            }
            #expect(try store.keys(.blocks, from: [0x02], prefix: [0x02]) == [[0x02], [0x02, 0x00], [0x02, 0xFF, 0xFF]])
            let entries = try store.entries(withPrefix: [0x02], in: .blocks)
            #expect(entries.map(\.key) == entries.map(\.value))
            #expect(entries.count == 3)
            #expect(try store.entries(withPrefix: [0x02], in: .blocks, limit: 2).count == 2)
            #expect(try store.entries(withPrefix: [0x04], in: .blocks).isEmpty)
            // An empty prefix scans to the end.
            #expect(try store.keys(.blocks, from: [0x02, 0x01]) == [[0x02, 0xFF, 0xFF], [0x03], [0x03, 0x00]])
        }
    }

    @Test("compactMapEntries maps the entries of a prefix in key order and leaves out the nils", arguments: StoreKind.allCases)
    func compactMapEntries(kind: StoreKind) throws {
        try withStore(kind) { store in
            for key: [UInt8] in [[0x01, 0x09], [0x02, 0x03], [0x02, 0x01], [0x02, 0x02], [0x03]] {
                try store.put([key.last! * 10], for: key, in: .state)
            }
            // The odd keys of prefix 0x02, each as (last key byte, value), in key order.
            let odd = try store.compactMapEntries(withPrefix: [0x02], in: .state) { key, value in
                key[1] % 2 == 1 ? (key[1], value[0]) : nil
            }
            #expect(odd.map(\.0) == [0x01, 0x03])
            #expect(odd.map(\.1) == [10, 30])
            #expect(try store.compactMapEntries(withPrefix: [0x04], in: .state) { key, _ in key }.isEmpty)
            struct Refused: Error {}
            #expect(throws: Refused.self) { try store.compactMapEntries(withPrefix: [0x02], in: .state) { _, _ -> Int? in throw Refused() } }
        }
    }

    @Test("a scan can start in the middle of the keys", arguments: StoreKind.allCases)
    func scanFromMiddle(kind: StoreKind) throws {
        try withStore(kind) { store in
            for value in UInt8(0)..<10 { try store.put([value], for: [0x05, value * 2], in: .transactions) }
            // From an existing key (inclusive) and from between two keys.
            #expect(try store.keys(.transactions, from: [0x05, 14], prefix: [0x05]) == [[0x05, 14], [0x05, 16], [0x05, 18]])
            #expect(try store.keys(.transactions, from: [0x05, 15], prefix: [0x05]) == [[0x05, 16], [0x05, 18]])
            #expect(try store.keys(.transactions, from: [0x06], prefix: []).isEmpty)
        }
    }

    @Test("a scan stops when the body returns false", arguments: StoreKind.allCases)
    func earlyStop(kind: StoreKind) throws {
        try withStore(kind) { store in
            for value in UInt8(0)..<10 { try store.put([value], for: [value], in: .consensus) }
            var seen: [[UInt8]] = []
            try store.scan(.consensus, from: [], prefix: []) { key, _ in
                seen.append(key)
                return seen.count < 3
            }
            #expect(seen == [[0], [1], [2]])
        }
    }

    @Test("an error thrown by the body propagates and the store stays usable", arguments: StoreKind.allCases)
    func throwingBody(kind: StoreKind) throws {
        try withStore(kind) { store in
            for value in UInt8(0)..<5 { try store.put([value], for: [value], in: .stateTree) }
            var calls = 0
            #expect(throws: TestFailure(tag: 7)) {
                try store.scan(.stateTree, from: [], prefix: []) { key, _ in
                    calls += 1
                    if key == [2] { throw TestFailure(tag: 7) }
                    return true
                }
            }
            #expect(calls == 3)
            // Many throwing scans in a row: a leaked iterator per scan would pin resources.
            for _ in 0..<100 {
                #expect(throws: TestFailure.self) {
                    try store.scan(.stateTree, from: [], prefix: []) { _, _ in throw TestFailure(tag: 1) }
                }
            }
            try store.put([9], for: [9], in: .stateTree)
            #expect(try store.keys(.stateTree).count == 6)
        }
    }

    @Test("the body may read and write the store during a scan", arguments: StoreKind.allCases)
    func reentrantBody(kind: StoreKind) throws {
        try withStore(kind) { store in
            for value in UInt8(0)..<4 { try store.put([value], for: [value], in: .blockHashes) }
            var seen: [[UInt8]] = []
            try store.scan(.blockHashes, from: [], prefix: []) { key, value in
                seen.append(key)
                #expect(try store.get(key, in: .blockHashes) == value)
                try store.put(value, for: key, in: .certificates)
                return true
            }
            #expect(seen == [[0], [1], [2], [3]])
            #expect(try store.keys(.certificates) == seen)
        }
    }

    @Test("large values round-trip", arguments: StoreKind.allCases)
    func largeValue(kind: StoreKind) throws {
        try withStore(kind) { store in
            let value = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try store.put(value, for: [1], in: .blocks, sync: true)
            #expect(try store.get([1], in: .blocks) == value)
        }
    }

    @Test("concurrent readers and writers", arguments: StoreKind.allCases)
    func concurrentAccess(kind: StoreKind) async throws {
        try await withStoreAsync(kind) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in UInt8(0)..<4 {
                    group.addTask {
                        for index in UInt8(0)..<50 {
                            try store.put([writer, index], for: [writer, index], in: .state)
                            _ = try store.get([writer, index], in: .state)
                            _ = try store.entries(withPrefix: [writer], in: .state)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try store.keys(.state).count == 200)
        }
    }
}

/// `withStore` for async bodies.
func withStoreAsync(_ kind: StoreKind, _ body: (any KeyValueStore) async throws -> Void) async throws {
    switch kind {
    case .memory:
        try await body(MemoryStore())
    case .rocksDB:
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("kizuna-storage-tests-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try RocksDBStore(path: folder.path)
        defer { store.close() }
        try await body(store)
    }
}

/// The in-memory store against RocksDB: the same random puts and deletes (enough keys for the
/// memory store's chunks to split, empty and merge away), then the same answers to gets and to
/// scans from random starts, with and without a prefix.
@Suite("MemoryStore agrees with RocksDB")
struct MemoryStoreDifferentialTests {
    @Test func randomOperationsGiveTheSameStore() throws {
        try withTemporaryFolder { path in
            let rocks = try RocksDBStore(path: path)
            defer { rocks.close() }
            let memory = MemoryStore()
            var random = Xorshift(state: 20261205)
            // Short keys from a small alphabet: many shared prefixes, many overwrites; a third
            // of them 6 to 12 bytes of 0 and 1, so that keys often agree in the first eight
            // bytes the memory store compares as one number, or pad to the same eight.
            func key() -> [UInt8] {
                if random.next() % 3 == 0 {
                    return (0..<(6 + Int(random.next() % 7))).map { _ in UInt8(random.next() % 2) }
                }
                return (0..<(1 + Int(random.next() % 4))).map { _ in UInt8(random.next() % 24) }
            }
            for round in 0..<40 {
                var batch = WriteBatch()
                for _ in 0..<400 {
                    // Deletes outnumber puts in the later rounds, so chunks empty out again.
                    if random.next() % 100 < (round < 25 ? 20 : 70) {
                        batch.delete(key(), in: .state)
                    } else {
                        batch.put([UInt8(round), UInt8(random.next() % 256)], for: key(), in: .state)
                    }
                }
                try memory.write(batch, sync: false)
                try rocks.write(batch, sync: false)
                for _ in 0..<20 {
                    let probe = key()
                    #expect(try memory.get(probe, in: .state) == rocks.get(probe, in: .state))
                }
                for _ in 0..<5 {
                    let start = key()
                    let prefix = random.next() % 2 == 0 ? [] : Array(start.prefix(1))
                    let limit = Int(random.next() % 50) + 1
                    func scan(_ store: any KeyValueStore) throws -> [[UInt8]] {
                        var seen: [[UInt8]] = []
                        try store.scan(.state, from: start, prefix: prefix) { key, value in
                            seen.append(key + [0xFF] + value)
                            return seen.count < limit
                        }
                        return seen
                    }
                    #expect(try scan(memory) == scan(rocks), "round \(round), scan from \(start) prefix \(prefix)")
                }
            }
            #expect(memory.allEntries(in: .state).map { $0.key + [0xFF] + $0.value } == (try rocks.entries(in: .state)))
        }
    }
}

/// A snapshot keeps what the store held when it was taken, whatever the store writes after
/// (in chunks the two share until one writes), and holds only the families it was asked for.
@Suite("MemoryStore snapshots")
struct MemoryStoreSnapshotTests {
    @Test func laterWritesDoNotReachASnapshot() throws {
        let store = MemoryStore()
        var random = Xorshift(state: 20261206)
        func key() -> [UInt8] { (0..<(1 + Int(random.next() % 3))).map { _ in UInt8(random.next() % 40) } }
        var batch = WriteBatch()
        for index in 0..<3_000 { batch.put([UInt8(index % 256)], for: key(), in: .state) }
        batch.put([1], for: [7], in: .blocks)
        try store.write(batch, sync: false)
        let before = store.allEntries(in: .state)
        let snapshot = store.snapshot(of: [.state])
        var later = WriteBatch()
        for index in 0..<3_000 {
            if index % 3 == 0 { later.delete(key(), in: .state) } else { later.put([0xEE, UInt8(index % 256)], for: key(), in: .state) }
        }
        try store.write(later, sync: false)
        #expect(store.allEntries(in: .state).map { $0.key + [0xFF] + $0.value } != before.map { $0.key + [0xFF] + $0.value })
        #expect(snapshot.allEntries(in: .state).map { $0.key + [0xFF] + $0.value } == before.map { $0.key + [0xFF] + $0.value })
        #expect(try snapshot.get([7], in: .blocks) == nil)
        #expect(try store.get([7], in: .blocks) == [1])
        // And the other way round: the snapshot's own writes stay in it.
        var own = WriteBatch()
        own.put([9], for: [0xAB, 0xCD], in: .state)
        try snapshot.write(own, sync: false)
        #expect(try store.get([0xAB, 0xCD], in: .state) == nil)
    }
}

/// A fixed sequence of pseudo-random numbers (xorshift64), so a failure repeats.
private struct Xorshift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

private extension RocksDBStore {
    func entries(in family: ColumnFamily) throws -> [[UInt8]] {
        var all: [[UInt8]] = []
        try scan(family, from: [], prefix: []) { key, value in
            all.append(key + [0xFF] + value)
            return true
        }
        return all
    }
}
