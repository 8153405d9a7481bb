import Foundation
@testable import KizunaRocksDB
import KizunaStorage
import Testing

/// The state value cache inside `RocksDBStore`: reads through it are RocksDB's, whatever the
/// order of reads and writes, and it stays within its bound.
@Suite("RocksDBStore state value cache")
struct StateValueCacheTests {
    /// A cache so small that its shards are emptied over and over in these tests.
    static func smallCache() -> RocksDBConfiguration {
        var configuration = RocksDBConfiguration()
        configuration.stateValueCacheBytes = 64 * 4096
        return configuration
    }

    @Test("random puts, deletes and reads of the state agree with a model, before and after a reopen")
    func readsMatchAModel() throws {
        try withTemporaryFolder { path in
            var model: [[UInt8]: [UInt8]] = [:]
            let keys = (0..<3_000).map { index in [0x01] + withUnsafeBytes(of: UInt32(index).bigEndian, Array.init) }
            do {
                let store = try RocksDBStore(path: path, configuration: Self.smallCache())
                for round in 0..<200 {
                    var batch = WriteBatch()
                    for step in 0..<40 {
                        // Spread over the keys by two primes; one write in four a delete.
                        let key = keys[(round * 7_919 + step * 104_729) % keys.count]
                        if (round + step) % 4 == 0 {
                            batch.delete(key, in: .state)
                            model[key] = nil
                        } else {
                            let value = (0..<(1 + (round * 31 + step * 17) % 120)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ round &+ step) }
                            batch.put(value, for: key, in: .state)
                            model[key] = value
                        }
                    }
                    // The same keys in another family must not reach the state's cache.
                    batch.put([0xee], for: keys[round], in: .meta)
                    try store.write(batch, sync: false)
                    for step in 0..<60 {
                        let key = keys[(round * 104_729 + step * 7_919 + 13) % keys.count]
                        #expect(try store.get(key, in: .state) == model[key])
                    }
                }
                let statistics = try #require(store.stateValueCacheStatistics)
                #expect(statistics.hits > 0 && statistics.misses > 0)
                #expect(statistics.bytes <= 64 * 4096)
                store.close()
            }
            let reopened = try RocksDBStore(path: path, configuration: Self.smallCache())
            defer { reopened.close() }
            for key in keys {
                #expect(try reopened.get(key, in: .state) == model[key])
            }
        }
    }

    @Test("a value read before a write and kept after it is dropped: the write's value stays")
    func aReadThatRacedAWriteIsNotKept() throws {
        // The interleaving a reader and a writer can produce, step by step: the reader misses
        // and reads the old value from RocksDB; the writer's batch lands and updates the
        // cache; then the reader hands the old value to the cache.
        let cache = StateValueCache(bytesMax: 1 << 20)
        let key: [UInt8] = [0x01, 0x02]
        guard case .miss(let writes) = cache.lookup(key) else {
            Issue.record("an empty cache answered a lookup")
            return
        }
        cache.applied([(key: key, value: [2])])
        cache.remember([1], for: key, writesAtLookup: writes)
        guard case .hit(let value) = cache.lookup(key) else {
            Issue.record("the written value was not kept")
            return
        }
        #expect(value == [2])
        // A read with nothing in between is kept, absent keys included.
        let other: [UInt8] = [0x03]
        guard case .miss(let quiet) = cache.lookup(other) else { return }
        cache.remember(nil, for: other, writesAtLookup: quiet)
        guard case .hit(let absent) = cache.lookup(other) else {
            Issue.record("a read with no write in between was not kept")
            return
        }
        #expect(absent == nil)
    }

    @Test("a refused write leaves its keys to be read from RocksDB again")
    func aRefusedWriteIsForgotten() throws {
        let cache = StateValueCache(bytesMax: 1 << 20)
        cache.applied([(key: [9], value: [1])])
        cache.forget([[9]])
        guard case .miss = cache.lookup([9]) else {
            Issue.record("a forgotten key was still answered from memory")
            return
        }
    }

    @Test("a closed store refuses a state read the cache could answer")
    func closedStoreRefusesCachedReads() throws {
        try withTemporaryFolder { path in
            let store = try RocksDBStore(path: path)
            try store.write(Self.batch([5], 1), sync: false)
            #expect(try store.get([5], in: .state) != nil)
            store.close()
            #expect(throws: StorageError.self) { try store.get([5], in: .state) }
        }
    }

    @Test("with the cache off the store reads RocksDB alone")
    func cacheOff() throws {
        try withTemporaryFolder { path in
            var configuration = RocksDBConfiguration()
            configuration.stateValueCacheBytes = 0
            let store = try RocksDBStore(path: path, configuration: configuration)
            defer { store.close() }
            try store.write(Self.batch([7], 1), sync: false)
            #expect(try store.get([7], in: .state) != nil)
            #expect(store.stateValueCacheStatistics == nil)
        }
    }

    static func batch(_ key: [UInt8], _ value: UInt64) -> WriteBatch {
        var batch = WriteBatch()
        batch.put(withUnsafeBytes(of: value, Array.init), for: key, in: .state)
        return batch
    }
}
