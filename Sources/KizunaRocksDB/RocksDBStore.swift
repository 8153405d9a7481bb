internal import CRocksDB
internal import Foundation
public import KizunaStorage
import Synchronization

/// A `KeyValueStore` on RocksDB: one RocksDB column family per `ColumnFamily`, keys in
/// RocksDB's default bytewise (unsigned) order, write batches applied atomically.
///
/// Thread safety (`@unchecked Sendable`): RocksDB's `DB`, column family handles, iterators
/// created from them, and the read/write option objects we only read after `init` are safe to
/// use from many threads at once (RocksDB documents `DB` methods as thread-safe; `WriteBatch`
/// and iterators are per-call here and never shared). The only mutable Swift state is
/// `state`, and it is only touched under `lock`. Closing is coordinated with in-flight calls
/// so no call can use a handle after it was destroyed (see `close()`).
public final class RocksDBStore: KeyValueStore, @unchecked Sendable {
    /// The data folder.
    public let path: String
    /// True when opened with `readOnly: true`; writes then throw `.writeFailed`.
    public let isReadOnly: Bool
    /// The options the store was opened with.
    public let configuration: RocksDBConfiguration

    private let lock = NSLock()
    private var state: State
    /// The latest state values read or written here (nil when
    /// `configuration.stateValueCacheBytes` is 0).
    private let stateValues: StateValueCache?
    /// Set by `close()`: a closed store answers no read, not even one the cache could answer.
    private let closed = Atomic<Bool>(false)

    /// Name RocksDB requires for its always-present family. Kizuna stores nothing in it.
    static let defaultFamilyName = "default"

    /// Opens (and, unless `readOnly`, creates) the store in the folder at `path`.
    ///
    /// Read-only mode opens the folder without taking its lock, so an auditor can read a data
    /// folder while a node writes to it. It sees the data as of the moment it opened (including
    /// writes still only in the write-ahead log), never later writes: reopen to see them.
    /// Writes through a read-only store throw `.writeFailed`.
    public init(path: String, readOnly: Bool = false, configuration: RocksDBConfiguration = .default)
        throws(StorageError)
    {
        self.path = path
        self.isReadOnly = readOnly
        self.configuration = configuration
        stateValues = configuration.stateValueCacheBytes > 0 ? StateValueCache(bytesMax: configuration.stateValueCacheBytes) : nil
        try Self.checkFolder(path: path, readOnly: readOnly)

        var compression = configuration.compression
        while true {
            do {
                let handles = try Self.open(
                    path: path, readOnly: readOnly, configuration: configuration,
                    compression: compression.rawValue)
                state = State(handles: handles)
                return
            } catch let failure {
                // A codec "if available": the library may have been built without it.
                if let fallback = compression.fallback, RocksDBErrors.isCompressionUnsupported(failure.raw) {
                    compression = fallback
                    continue
                }
                throw failure.error
            }
        }
    }

    deinit {
        // No call can be in flight: each one holds a strong reference to `self`.
        if let handles = state.handles {
            handles.destroy()
        }
    }

    // MARK: - KeyValueStore

    public func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? {
        guard family == .state, let stateValues else { return try read(key, in: family) }
        guard !closed.load(ordering: .acquiring) else { throw StorageError(.closed, "the store at \(path) is closed") }
        switch stateValues.lookup(key) {
        case .hit(let value):
            return value
        case .miss(let writes):
            let value = try read(key, in: family)
            stateValues.remember(value, for: key, writesAtLookup: writes)
            return value
        }
    }

    /// What the state value cache holds and how often it answered (nil when it is off).
    public var stateValueCacheStatistics: StateValueCacheStatistics? { stateValues?.statistics }

    /// A point read from RocksDB itself.
    private func read(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? {
        let handles = try acquire()
        defer { release() }
        var length = 0
        var errptr: UnsafeMutablePointer<CChar>?
        let value = key.withCBytes { keyPointer, keyLength in
            rocksdb_get_cf(
                handles.db, handles.readOptions, handles.family(family), keyPointer, keyLength, &length, &errptr)
        }
        if let errptr {
            if let value { rocksdb_free(value) }
            throw RocksDBErrors.read(RocksDBErrors.take(errptr), path: path, what: "reading \(family.rawValue)")
        }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        let handles = try acquire()
        defer { release() }
        if isReadOnly {
            throw StorageError(
                .writeFailed,
                "the store at \(path) is open read-only; writes are refused (open it without readOnly, "
                    + "with no other process holding it, to write)")
        }
        guard let writeBatch = rocksdb_writebatch_create() else {
            throw StorageError(.writeFailed, "could not allocate a write batch for the store at \(path)")
        }
        defer { rocksdb_writebatch_destroy(writeBatch) }
        for operation in batch.operations {
            switch operation {
            case .put(let family, let key, let value):
                key.withCBytes { keyPointer, keyLength in
                    value.withCBytes { valuePointer, valueLength in
                        rocksdb_writebatch_put_cf(
                            writeBatch, handles.family(family), keyPointer, keyLength, valuePointer, valueLength)
                    }
                }
            case .delete(let family, let key):
                key.withCBytes { keyPointer, keyLength in
                    rocksdb_writebatch_delete_cf(writeBatch, handles.family(family), keyPointer, keyLength)
                }
            }
        }
        var errptr: UnsafeMutablePointer<CChar>?
        rocksdb_write(handles.db, sync ? handles.syncWriteOptions : handles.writeOptions, writeBatch, &errptr)
        if let stateValues {
            let stateWrites: [(key: [UInt8], value: [UInt8]?)] = batch.operations.compactMap { operation in
                switch operation {
                case .put(.state, let key, let value): (key, value)
                case .delete(.state, let key): (key, nil)
                default: nil
                }
            }
            // Before returning: a caller that sees the write done reads what it wrote.
            if errptr == nil { stateValues.applied(stateWrites) } else { stateValues.forget(stateWrites.map(\.key)) }
        }
        if let errptr {
            throw RocksDBErrors.write(RocksDBErrors.take(errptr), path: path, sync: sync)
        }
    }

    public func scan(
        _ family: ColumnFamily,
        from start: [UInt8],
        prefix: [UInt8],
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool
    ) throws {
        let handles = try acquire()
        defer { release() }
        guard let iterator = rocksdb_create_iterator_cf(handles.db, handles.readOptions, handles.family(family)) else {
            throw StorageError(.readFailed, "could not create an iterator on \(family.rawValue) in the store at \(path)")
        }
        // Runs on every exit: normal end, early stop, and `body` throwing.
        defer { rocksdb_iter_destroy(iterator) }

        // The iterator reads an implicit snapshot taken here, so `body` may call back into
        // the store (even write) without disturbing the scan.
        start.withCBytes { pointer, length in rocksdb_iter_seek(iterator, pointer, length) }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            let keyPointer = rocksdb_iter_key(iterator, &keyLength)
            let key = Array(UnsafeRawBufferPointer(start: keyPointer, count: keyLength))
            if !prefix.isEmpty && !key.starts(with: prefix) { return }
            var valueLength = 0
            let valuePointer = rocksdb_iter_value(iterator, &valueLength)
            let value = Array(UnsafeRawBufferPointer(start: valuePointer, count: valueLength))
            if try !body(key, value) { return }
            rocksdb_iter_next(iterator)
        }
        var errptr: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(iterator, &errptr)
        if let errptr {
            throw RocksDBErrors.read(RocksDBErrors.take(errptr), path: path, what: "scanning \(family.rawValue)")
        }
    }

    /// Writes a consistent point-in-time copy of the whole store (every column family, as of
    /// one moment between write batches) into the folder at `path`, which must not exist; its
    /// parent must. RocksDB's checkpoint: memtables are flushed first, table files are
    /// hard-linked when `path` is on the same file system (else copied), the manifest and any
    /// write-ahead log needed for consistency are copied. The store keeps serving meanwhile.
    public func checkpoint(to path: String) throws(StorageError) {
        let handles = try acquire()
        defer { release() }
        var errptr: UnsafeMutablePointer<CChar>?
        guard let checkpoint = rocksdb_checkpoint_object_create(handles.db, &errptr) else {
            let raw = errptr.map { RocksDBErrors.take($0) } ?? "no checkpoint object"
            throw StorageError(.writeFailed, "cannot start a checkpoint of the store at \(self.path): \(raw)")
        }
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        if let errptr { rocksdb_free(errptr) }
        errptr = nil
        // log_size_for_flush 0: always flush the memtables, so the copy is table files.
        rocksdb_checkpoint_create(checkpoint, path, 0, &errptr)
        if let errptr {
            throw StorageError(
                .writeFailed,
                "cannot write a checkpoint of the store at \(self.path) into \(path): \(RocksDBErrors.take(errptr)) "
                    + "(the folder must not exist yet and its parent must be writable)")
        }
    }

    /// True once `close()` was called.
    public var isClosed: Bool {
        lock.withLock { state.closeRequested }
    }

    /// Closes the store and releases the folder's lock: the memtables are flushed first (so
    /// no log is left to replay), the families rewritten in place compacted
    /// (`compactRewrittenFamilies()`), and the state and its tree too while they are small
    /// (`compactStateFamilies(ifAtMost:)`, `stateCompactionAtCloseBytesMax`). Idempotent;
    /// `deinit` calls it too.
    /// Every later call throws `.closed`. If calls are still running on other threads (or
    /// `close()` is called from inside a `scan` body), the handles are released when the
    /// last of them returns; none of them ever sees a destroyed handle.
    public func close() {
        flushMemtables()
        compactRewrittenFamilies()
        compactStateFamilies(ifAtMost: configuration.stateCompactionAtCloseBytesMax)
        let handles: Handles? = lock.withLock {
            if state.closeRequested { return nil }
            state.closeRequested = true
            closed.store(true, ordering: .releasing)
            return state.inFlight == 0 ? state.takeHandles() : nil
        }
        handles?.destroy()
    }

    // MARK: - Handle lifetime

    func acquire() throws(StorageError) -> Handles {
        lock.lock()
        defer { lock.unlock() }
        guard !state.closeRequested, let handles = state.handles else {
            throw StorageError(.closed, "the store at \(path) is closed")
        }
        state.inFlight += 1
        return handles
    }

    func release() {
        let handles: Handles? = lock.withLock {
            state.inFlight -= 1
            return state.closeRequested && state.inFlight == 0 ? state.takeHandles() : nil
        }
        handles?.destroy()
    }

    private struct State {
        var handles: Handles?
        var inFlight = 0
        var closeRequested = false

        mutating func takeHandles() -> Handles? {
            defer { handles = nil }
            return handles
        }
    }

    // MARK: - Opening

    /// A failed open attempt: the raw RocksDB message (to decide on a retry) and the error.
    private struct OpenFailure: Error {
        let raw: String
        let error: StorageError
    }

    private static func checkFolder(path: String, readOnly: Bool) throws(StorageError) {
        if path.isEmpty {
            throw StorageError(.openFailed, "cannot open a store: the data folder path is empty")
        }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw StorageError(
                .openFailed,
                "cannot open the store at \(path): the path is a file, not a folder; give the path of a data "
                    + "folder (it is created if missing)")
        }
        if readOnly && !exists {
            throw StorageError(
                .openFailed, "there is no store at \(path) (a read-only open does not create one); check the path")
        }
        if !readOnly && !exists {
            // RocksDB creates only the last folder of the path; create the parents too.
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                let cause = (error as NSError).userInfo[NSUnderlyingErrorKey].map { "\($0)" } ?? "\(error)"
                throw StorageError(
                    .openFailed,
                    "cannot create the data folder \(path); check that no part of the path is a file and that "
                        + "the parent folder is writable (\(cause))")
            }
        }
    }

    private static func open(
        path: String, readOnly: Bool, configuration: RocksDBConfiguration, compression: Int32
    ) throws(OpenFailure) -> Handles {
        // One block cache for every family (the memory bound of `RocksDBConfiguration`); each
        // family's table options keep their own reference to it.
        guard let cache = rocksdb_cache_create_lru(configuration.blockCacheBytes) else {
            let raw = "could not allocate the block cache"
            throw OpenFailure(raw: raw, error: StorageError(.openFailed, "cannot open the store at \(path): \(raw)"))
        }
        defer { rocksdb_cache_destroy(cache) }
        let families: [ColumnFamily?] = [nil] + ColumnFamily.allCases
        var familyOptions: [OpaquePointer?] = []
        defer { for options in familyOptions { rocksdb_options_destroy(options) } }
        for family in families {
            let layout = FamilyLayout(family, configuration: configuration, compression: compression)
            guard let options = makeOptions(configuration, layout: layout, cache: cache, readOnly: readOnly) else {
                let raw = "could not allocate options"
                throw OpenFailure(raw: raw, error: StorageError(.openFailed, "cannot open the store at \(path): \(raw)"))
            }
            familyOptions.append(options)
        }
        // The default family's options are the database's.
        let options = familyOptions[0]

        let names = families.map { $0?.rawValue ?? defaultFamilyName }
        let cNames = names.map { strdup($0) }
        defer { for name in cNames { free(name) } }
        let namePointers: [UnsafePointer<CChar>?] = cNames.map { UnsafePointer($0) }
        var familyHandles: [OpaquePointer?] = Array(repeating: nil, count: names.count)
        var errptr: UnsafeMutablePointer<CChar>?

        let db: OpaquePointer? = namePointers.withUnsafeBufferPointer { namesBuffer in
            familyOptions.withUnsafeBufferPointer { optionsBuffer in
                familyHandles.withUnsafeMutableBufferPointer { handlesBuffer in
                    if readOnly {
                        return rocksdb_open_for_read_only_column_families(
                            options, path, Int32(names.count), namesBuffer.baseAddress, optionsBuffer.baseAddress,
                            handlesBuffer.baseAddress, 0, &errptr)
                    } else {
                        return rocksdb_open_column_families(
                            options, path, Int32(names.count), namesBuffer.baseAddress, optionsBuffer.baseAddress,
                            handlesBuffer.baseAddress, &errptr)
                    }
                }
            }
        }
        if let errptr {
            for handle in familyHandles { if let handle { rocksdb_column_family_handle_destroy(handle) } }
            if let db { rocksdb_close(db) }
            let raw = RocksDBErrors.take(errptr)
            throw OpenFailure(raw: raw, error: RocksDBErrors.open(raw, path: path, readOnly: readOnly))
        }
        guard let db, familyHandles.allSatisfy({ $0 != nil }) else {
            for handle in familyHandles { if let handle { rocksdb_column_family_handle_destroy(handle) } }
            if let db { rocksdb_close(db) }
            let raw = "RocksDB returned no handle and no error"
            throw OpenFailure(raw: raw, error: StorageError(.openFailed, "cannot open the store at \(path): \(raw)"))
        }
        var handles: [ColumnFamily: OpaquePointer] = [:]
        for (index, family) in ColumnFamily.allCases.enumerated() {
            handles[family] = familyHandles[index + 1]!
        }
        return Handles(db: db, defaultFamily: familyHandles[0]!, families: handles)
    }

    /// Builds the DB and column family options from `configuration` and one family's
    /// `layout`. The returned options own copies of the table factory (which holds a reference
    /// to the shared block cache and the bloom filter), so everything else created here is
    /// freed before returning.
    private static func makeOptions(
        _ configuration: RocksDBConfiguration, layout: FamilyLayout, cache: OpaquePointer, readOnly: Bool
    ) -> OpaquePointer? {
        guard let options = rocksdb_options_create() else { return nil }
        rocksdb_options_set_create_if_missing(options, readOnly ? 0 : 1)
        rocksdb_options_set_create_missing_column_families(options, readOnly ? 0 : 1)
        rocksdb_options_set_compression(options, layout.compression)
        if layout.dictionaryBytes > 0 {
            // window bits and strategy: the library's defaults; level 32767: the codec's default.
            rocksdb_options_set_compression_options(options, -14, 32767, 0, Int32(layout.dictionaryBytes))
            rocksdb_options_set_compression_options_zstd_max_train_bytes(options, Int32(configuration.dictionaryTrainingBytes))
            rocksdb_options_set_compression_options_max_dict_buffer_bytes(options, configuration.dictionaryBufferBytes)
        }
        rocksdb_options_set_write_buffer_size(options, configuration.writeBufferBytes)
        rocksdb_options_set_max_write_buffer_number(options, configuration.writeBuffersPerFamily)
        rocksdb_options_set_db_write_buffer_size(options, configuration.totalWriteBufferBytes)
        rocksdb_options_set_max_total_wal_size(options, configuration.maxTotalWALBytes)
        rocksdb_options_set_max_open_files(options, configuration.maxOpenFiles)
        rocksdb_options_set_max_background_jobs(options, configuration.backgroundJobs)
        rocksdb_options_set_level_compaction_dynamic_level_bytes(options, 1)
        rocksdb_options_set_max_log_file_size(options, configuration.infoLogFileBytes)
        rocksdb_options_set_keep_log_file_num(options, configuration.infoLogFilesKept)
        if readOnly {
            // Keep the info log out of the data folder: RocksDB would otherwise rename the
            // writer's live `LOG` to `LOG.old.*` and start its own, and the folder may not
            // be writable by the auditor at all.
            let logFolder = FileManager.default.temporaryDirectory
                .appendingPathComponent("kizuna-readonly-logs", isDirectory: true)
            try? FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
            rocksdb_options_set_db_log_dir(options, logFolder.path)
        }

        if let table = rocksdb_block_based_options_create() {
            rocksdb_block_based_options_set_block_size(table, layout.blockSizeBytes)
            // The filter policy is owned by the table options from here on.
            rocksdb_block_based_options_set_filter_policy(
                table, rocksdb_filterpolicy_create_bloom_full(configuration.bloomFilterBitsPerKey))
            rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
            rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(table, 1)
            rocksdb_block_based_options_set_block_cache(table, cache)
            rocksdb_options_set_block_based_table_factory(options, table)
            rocksdb_block_based_options_destroy(table)
        }
        return options
    }
}

/// How one column family's table files are laid out (ADR 0024): what is read by key at random
/// keeps small blocks, what is written once and read rarely gets larger ones; values that
/// repeat public keys get a Zstandard dictionary per table file; the state tree's pages are
/// hashes and stay uncompressed.
struct FamilyLayout: Equatable {
    var compression: Int32
    var blockSizeBytes: Int
    var dictionaryBytes: Int

    /// `family` nil: RocksDB's default family (which holds nothing).
    init(_ family: ColumnFamily?, configuration: RocksDBConfiguration, compression: Int32) {
        self.compression = compression
        blockSizeBytes = configuration.blockSizeBytes
        dictionaryBytes = 0
        switch family {
        case .stateTree:
            // Read at random by every update and incompressible: a decompression per cache
            // miss would buy ≈ 7% of its bytes.
            self.compression = Int32(rocksdb_no_compression)
        case .blocks:
            blockSizeBytes = configuration.archiveBlockSizeBytes
            dictionaryBytes = configuration.dictionaryBytes
        case .state:
            dictionaryBytes = configuration.dictionaryBytes
        case .certificates, .blockHashes, .transactions, .accountHistory, .signers:
            blockSizeBytes = configuration.archiveBlockSizeBytes
        case .meta, .consensus, nil:
            break
        }
        // A dictionary is a Zstandard feature; without that codec there is none.
        if self.compression != TableCompression.zstd.rawValue { dictionaryBytes = 0 }
    }
}
