public import KizunaCore

/// The column families Kizuna keeps. A store opens all of them at once; adding one is a
/// storage format change (see `docs/storage.md`).
public enum ColumnFamily: String, CaseIterable, Sendable, Hashable {
    /// Store metadata: genesis hash, format version, tip height.
    case meta
    /// Encoded blocks keyed by big-endian height.
    case blocks
    /// Block height keyed by block hash.
    case blockHashes = "block_hashes"
    /// Commit certificate that committed the block at a height, keyed by big-endian height.
    case certificates
    /// Location (height, index) of a committed transaction keyed by transaction id.
    case transactions
    /// Ledger state values keyed by state key.
    case state
    /// Nodes of the state commitment tree.
    case stateTree = "state_tree"
    /// Consensus safety records (what this node signed).
    case consensus
    /// The account-history index: one empty entry per account a committed transaction
    /// names, keyed so that an account's entries scan newest first (`KizunaChain.AccountHistory`).
    case accountHistory = "account_history"
    /// The keys that have signed a committed transaction, by the number the block store gave
    /// each (big-endian `u32` → 32-byte key): a stored block names its signers by number
    /// (`KizunaChain.SignerNumbers`, ADR 0029).
    case signers

    /// The families that hold a few keys rewritten in place rather than a growing set: a
    /// store may compact them whenever it likes, at the cost of their handful of entries.
    public static let rewrittenInPlace: [ColumnFamily] = [.meta, .consensus]
}

/// One change in a write batch.
public enum WriteOperation: Sendable, Equatable {
    case put(family: ColumnFamily, key: [UInt8], value: [UInt8])
    case delete(family: ColumnFamily, key: [UInt8])
}

/// A set of changes applied atomically: all of them or none, even across a crash.
public struct WriteBatch: Sendable, Equatable {
    public private(set) var operations: [WriteOperation] = []

    public init() {}

    public mutating func put(_ value: [UInt8], for key: [UInt8], in family: ColumnFamily) {
        operations.append(.put(family: family, key: key, value: value))
    }

    public mutating func delete(_ key: [UInt8], in family: ColumnFamily) {
        operations.append(.delete(family: family, key: key))
    }

    public mutating func append(contentsOf other: WriteBatch) {
        operations.append(contentsOf: other.operations)
    }

    public var isEmpty: Bool { operations.isEmpty }
    public var count: Int { operations.count }
}

/// The storage protocol the ledger and the block store are written against.
///
/// Keys are compared as unsigned bytes (lexicographic), in every implementation, so scans
/// return the same order from RocksDB and from memory.
public protocol KeyValueStore: AnyObject, Sendable {
    /// The value stored under `key`, or nil.
    func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]?

    /// Applies every operation of `batch` atomically. With `sync`, returns only after the
    /// batch is durable (fsync of the write-ahead log): a crash after return loses nothing.
    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError)

    /// Calls `body` for each entry with `key >= start` in ascending key order, while keys
    /// start with `prefix` (empty prefix: to the end) and `body` returns true.
    func scan(
        _ family: ColumnFamily,
        from start: [UInt8],
        prefix: [UInt8],
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool
    ) throws

    /// True when the store refuses every write (a RocksDB store opened read-only, as an
    /// auditor's tools open a node's folder): a caller that would have to write first — a
    /// store-format migration — says so instead of failing on the write.
    var isReadOnly: Bool { get }
}

extension KeyValueStore {
    public var isReadOnly: Bool { false }
}

extension KeyValueStore {
    /// Every entry whose key starts with `prefix`, in ascending order.
    public func entries(withPrefix prefix: [UInt8], in family: ColumnFamily, limit: Int = .max) throws -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        try scan(family, from: prefix, prefix: prefix) { key, value in
            result.append((key, value))
            return result.count < limit
        }
        return result
    }

    /// What `transform` makes of each entry whose key starts with `prefix`, in ascending key
    /// order, leaving out the entries it returns nil for; the entries themselves are not kept.
    public func compactMapEntries<Element>(
        withPrefix prefix: [UInt8], in family: ColumnFamily, _ transform: (_ key: [UInt8], _ value: [UInt8]) throws -> Element?
    ) throws -> [Element] {
        var result: [Element] = []
        try scan(family, from: prefix, prefix: prefix) { key, value in
            if let element = try transform(key, value) { result.append(element) }
            return true
        }
        return result
    }

    /// The entry with the greatest key in the family, or nil when it is empty.
    public func last(in family: ColumnFamily) throws -> (key: [UInt8], value: [UInt8])? {
        var found: (key: [UInt8], value: [UInt8])?
        try scan(family, from: [], prefix: []) { key, value in
            found = (key, value)
            return true
        }
        return found
    }
}

/// A storage failure. Compares on the code only.
public typealias StorageError = CodedError<StorageErrorCode>

/// The codes of `StorageError`.
public enum StorageErrorCode: String, ErrorCode {
    case openFailed = "storage.open_failed"
    case readFailed = "storage.read_failed"
    case writeFailed = "storage.write_failed"
    case closed = "storage.closed"
    case corrupted = "storage.corrupted"
}

extension CodedError where Codes == StorageErrorCode {
    /// Lets a store such as `KizunaRocksDB`, which sees only this module, build its errors.
    public init(_ code: StorageErrorCode, _ message: String) {
        self.init(code, message, at: nil, cause: nil)
    }
}
