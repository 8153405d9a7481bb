public import KizunaCore
public import KizunaStorage
import Synchronization

/// Pending state changes layered over committed state.
///
/// Two layers: the block's accepted writes, and the writes of the transaction being
/// executed. A transaction's writes join the block's only when it succeeds
/// (`commitTransaction`); on rejection they are dropped (`rollbackTransaction`), so a
/// rejected transaction changes nothing. `changes` are returned sorted by key: the order
/// of a `Dictionary` never reaches a hash.
public struct StateOverlay: Sendable {
    private let base: any KeyValueStore
    private var blockWrites: [ByteKey: [UInt8]?] = [:]
    private var transactionWrites: [ByteKey: [UInt8]?] = [:]
    /// Where an admission check records the keys and prefixes it read (nil: not recorded).
    public var reads: StateReadLog?

    /// Values read from `base`, kept for the overlay's life when it was made with
    /// `memoizingBaseReads` (nil otherwise).
    private let baseReads: BaseReadMemo?

    /// - Parameter memoizingBaseReads: keep what is read from `base`, so a key read by many
    ///   transactions of a block and written by none (a program's terms, the rebate index, an
    ///   account paid only by others) is read from the store once. Only for an overlay whose
    ///   base does not change while it and its copies are used: one block's execution, or the
    ///   start of the next block that admission checks against at one tip.
    /// - Parameter expectedKeys: room for that many keys written and read up front (a block's
    ///   execution knows its transactions), so the tables are not rehashed as they grow.
    public init(base: any KeyValueStore, memoizingBaseReads: Bool = false, expectedKeys: Int = 0) {
        self.base = base
        self.baseReads = memoizingBaseReads ? BaseReadMemo(capacity: expectedKeys) : nil
        blockWrites.reserveCapacity(expectedKeys)
    }

    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        reads?.noteKey(key)
        let byteKey = ByteKey(key)
        if let value = transactionWrites[byteKey] { return value }
        if let value = blockWrites[byteKey] { return value }
        guard let baseReads else { return try base.get(key, in: .state) }
        if let value = baseReads.value(for: byteKey) { return value }
        let value = try base.get(key, in: .state)
        baseReads.remember(value, for: byteKey)
        return value
    }

    /// What the committed state holds for `key`, under this block's and transaction's writes:
    /// from the memo when the block has read the key already (every key it changed but wrote
    /// blindly), else from the store. Not noted in `reads`: no transaction's verdict uses it.
    public func committedValue(_ key: [UInt8]) throws -> [UInt8]? {
        if let baseReads, let value = baseReads.value(for: ByteKey(key)) { return value }
        return try base.get(key, in: .state)
    }

    public mutating func set(_ key: [UInt8], _ value: [UInt8]?) {
        transactionWrites[ByteKey(key)] = .some(value)
    }

    /// Keeps the current transaction's writes.
    public mutating func commitTransaction() {
        for (key, value) in transactionWrites { blockWrites[key] = .some(value) }
        transactionWrites.removeAll(keepingCapacity: true)
    }

    /// The keys the current transaction has written so far (unordered).
    public var openTransactionKeys: [[UInt8]] { transactionWrites.keys.map(\.bytes) }

    /// Drops the current transaction's writes.
    public mutating func rollbackTransaction() {
        transactionWrites.removeAll(keepingCapacity: true)
    }

    /// Every key with `prefix` that has a value, as seen through both layers, sorted.
    /// Costs a scan of the committed range plus a pass over this block's writes: for rare
    /// operations (redemption, recovery), never per payment.
    public func keys(withPrefix prefix: [UInt8]) throws -> [[UInt8]] {
        reads?.notePrefix(prefix)
        var found: [ByteKey: Bool] = [:]
        try base.scan(.state, from: prefix, prefix: prefix) { key, _ in
            found[ByteKey(key)] = true
            return true
        }
        for layer in [blockWrites, transactionWrites] {
            for (key, value) in layer where key.bytes.starts(with: prefix) {
                found[key] = value != nil
            }
        }
        return found.filter(\.value).map(\.key.bytes).sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Every committed write sorted by key (nil value: delete).
    public var changes: [(key: [UInt8], value: [UInt8]?)] {
        precondition(transactionWrites.isEmpty, "a transaction is still open")
        return blockWrites.map { ($0.key.bytes, $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    // MARK: Typed access

    public func account(_ key: PublicKey) throws -> AccountState? {
        guard let bytes = try get(StateKey.account(key)) else { return nil }
        return try AccountState(storedBytes: bytes)
    }

    public mutating func setAccount(_ key: PublicKey, _ account: AccountState) {
        set(StateKey.account(key), account.canonicalBytes)
    }

    public func supply(_ asset: Asset) throws -> SupplyState {
        guard let bytes = try get(StateKey.supply(asset)) else { return SupplyState() }
        return try SupplyState(storedBytes: bytes)
    }

    public mutating func setSupply(_ asset: Asset, _ supply: SupplyState) {
        set(StateKey.supply(asset), supply.canonicalBytes)
    }

    public func amount(_ key: [UInt8]) throws -> Amount {
        guard let bytes = try get(key) else { return 0 }
        return try Decoder.decodeUInt64(exactly: bytes)
    }
}

extension Decoder {
    static func decodeUInt64(exactly bytes: [UInt8]) throws(DecodingError) -> UInt64 {
        var decoder = Decoder(bytes)
        let value = try decoder.decodeUInt64()
        try decoder.finish()
        return value
    }
}

/// The values read from the committed state through a `StateOverlay` made with
/// `memoizingBaseReads` (a block's execution, or admission's start of the next block and every
/// check copied from it). A reference, so that reads through a non-mutating `get` — and through
/// the overlay's copies — share what was read; behind a lock, since copies may be used from
/// other threads.
final class BaseReadMemo: Sendable {
    private let values: Mutex<[ByteKey: [UInt8]?]>

    init(capacity: Int = 0) {
        values = Mutex(Dictionary(minimumCapacity: capacity))
    }

    /// The remembered value: `.some(nil)` for a key remembered as absent, nil when not read yet.
    func value(for key: ByteKey) -> [UInt8]?? {
        values.withLock { $0[key] }
    }

    func remember(_ value: [UInt8]?, for key: ByteKey) {
        values.withLock { $0[key] = .some(value) }
    }
}
