public import KizunaCore
public import KizunaStorage
public import KizunaLedger
import KizunaStateTree

/// The tip of a chain: the last committed block (height 0 is genesis).
public struct ChainTip: Sendable, Hashable {
    public var height: UInt64
    /// Hash of the tip block (zero at genesis).
    public var hash: Hash
    public var stateRoot: Hash
    /// The tip block's timestamp (genesis time at height 0).
    public var timestamp: UInt64
}

/// Blocks by height and hash, certificates, the transaction and account-history indexes and
/// the ledger state, all in one `KeyValueStore`. A block, its certificate, its index entries
/// and the state it produces are written in one synced batch (`commit`), so a crash keeps all
/// or none.
public final class BlockStore: Sendable {
    public let store: any KeyValueStore
    public let genesis: Genesis
    public let ledger: Ledger
    /// The height of the state snapshot this store was started from (`install`), or 0 for an
    /// archive store that holds every block from 1. Blocks, certificates, transaction and
    /// account-history entries below it are not held: `block(at:)` and `certificate(at:)`
    /// refuse those heights with `chain.before_snapshot`.
    public let snapshotHeight: UInt64
    /// Whether commits write the transaction index (id → position) and the account-history
    /// index. An auditor's in-memory replica keeps neither (issue 16): its reports read the
    /// state and the blocks, and nothing asks it for a transaction by id or an account's
    /// history, so those writes would only be half of its replay's inserts.
    public let keepsIndexes: Bool
    /// The numbers that stored blocks name their signers by (ADR 0029).
    let signerNumbers: SignerNumbers
    /// The store format the folder had when this store opened it (nil: a new store). Below
    /// `formatVersion`, opening migrated it, and a node says so.
    public let formatVersionAtOpen: UInt32?
    /// Whether the `transactions` family may hold entries keyed by a whole 32-byte id, as
    /// stores before format version 5 wrote them (ADR 0031): then a lookup that finds no entry
    /// under the id's 8-byte key also reads the whole id's.
    let transactionIndexHasLongKeys: Bool

    enum MetaKey {
        static let formatVersion = Array("format_version".utf8)
        static let genesisHash = Array("genesis_hash".utf8)
        static let genesisStateRoot = Array("genesis_state_root".utf8)
        static let tipHeight = Array("tip_height".utf8)
        /// While a version-1 store is migrated: the height up to which the account-history
        /// index is built (written in the same batch as the entries; removed at the end).
        static let historyIndexedHeight = Array("account_history_indexed_height".utf8)
        /// The height of the state snapshot the store was started from (absent: an archive).
        static let snapshotHeight = Array("snapshot_height".utf8)
        /// Present (empty value) in a store moved to version 5 from an earlier one: its
        /// `transactions` family still holds the entries keyed by whole ids (ADR 0031).
        static let transactionIndexLongKeys = Array("transaction_index_long_keys".utf8)
    }

    /// The on-disk format this code writes and reads. Version 2 added the `account_history`
    /// family (ADR 0006); version 3 stores the state tree in pages of four levels (ADR 0023);
    /// version 4 writes blocks in a compact form that names signers by number, in the new
    /// `signers` family (ADR 0029); version 5 keys the `transactions` family by the first 8
    /// bytes of an id (`TransactionIndex`, ADR 0031). Stores of versions 1 to 4 are migrated
    /// when they are opened for writing (a version-3 store keeps its canonical blocks, a
    /// version-4 store its entries keyed by whole ids, which read as before); a version-4 store
    /// can also be read read-only.
    public static let formatVersion: UInt32 = 5

    /// The first version whose `transactions` family is keyed by 8 bytes of an id.
    static let shortTransactionKeysFormatVersion: UInt32 = 5

    /// Index entries per batch while a version-1 store is migrated (a bound on the memory of
    /// one batch: ≈ 44 bytes of key each, about 3 MiB, plus at most one block's entries).
    public static let migrationEntriesPerBatchMax = 65_536

    /// The state-tree levels kept in memory when the caller does not say (tools, tests and
    /// replays on a memory store); a node passes its configured depth.
    public static let treeCacheLevelsDefault = 16

    /// Opens the chain in `store`, writing the genesis state if the store is empty, or
    /// refusing a store that belongs to another genesis or a format this code does not know.
    /// A store of the previous format (version 1, no account-history index) is migrated
    /// first: the index is built from the stored blocks in bounded batches, and the run can
    /// be killed at any point and started again (ADR 0006).
    /// - Parameters:
    ///   - treeCacheLevels: levels of the state tree its ledger keeps in memory across blocks
    ///     (ADR 0013, ADR 0022; a node passes its `stateTreeCacheLevels`).
    ///   - migrationEntriesPerBatch: index entries per batch of a migration (a block's
    ///     entries are never split; tests make it small to get many batches).
    ///   - migrationProgress: called when the account-history index of a version-1 store is
    ///     built, at its start and after each batch, with the height indexed so far and the tip
    ///     height (never without that migration).
    ///   - treeMigrationProgress: called while the state tree of a version-1 or -2 store is
    ///     rebuilt in pages, with the state entries done and all of them (never without it).
    public init(store: any KeyValueStore, genesis: Genesis, treeCacheLevels: Int = BlockStore.treeCacheLevelsDefault, keepsIndexes: Bool = true,
                migrationEntriesPerBatch: Int = BlockStore.migrationEntriesPerBatchMax,
                migrationProgress: (_ indexedHeight: UInt64, _ tipHeight: UInt64) -> Void = { _, _ in },
                treeMigrationProgress: (_ entriesDone: Int, _ entries: Int) -> Void = { _, _ in }) throws(ChainError) {
        precondition(migrationEntriesPerBatch >= 1, "a migration batch of \(migrationEntriesPerBatch) entries")
        self.store = store
        self.genesis = genesis
        self.keepsIndexes = keepsIndexes
        self.ledger = Ledger(genesis: genesis, treeCache: StateTreeCache(levels: treeCacheLevels))
        let storedSnapshotHeight: [UInt8]?
        let storedVersion: [UInt8]?
        let longKeysMarker: [UInt8]?
        do {
            storedSnapshotHeight = try store.get(MetaKey.snapshotHeight, in: .meta)
            storedVersion = try store.get(MetaKey.formatVersion, in: .meta)
            longKeysMarker = try store.get(MetaKey.transactionIndexLongKeys, in: .meta)
        } catch {
            throw ChainError(.storage, "\(error)")
        }
        self.snapshotHeight = try storedSnapshotHeight.map { bytes throws(ChainError) in try BlockStore.decodeUInt64(bytes, what: "snapshot height") } ?? 0
        self.signerNumbers = try SignerNumbers(store: store)
        self.formatVersionAtOpen = try storedVersion.map { bytes throws(ChainError) in try Self.decodeUInt32(bytes) }
        // Every store before version 5 keyed its entries by whole ids; one moved to version 5
        // says so with the marker, written in the same batch as its version.
        self.transactionIndexHasLongKeys = longKeysMarker != nil || (formatVersionAtOpen.map { $0 < Self.shortTransactionKeysFormatVersion } ?? false)
        do {
            if let stored = try store.get(MetaKey.genesisHash, in: .meta) {
                guard stored == genesis.hash.bytes else {
                    throw ChainError(.genesisMismatch, "the data folder belongs to genesis \(stored.hexString), not to this genesis \(genesis.hash) (chain '\(genesis.chainId)'); use the right genesis or another data folder")
                }
                guard let version = formatVersionAtOpen else {
                    throw ChainError(.corruptState, "the store format version is missing from the meta column family")
                }
                guard version >= 1, version <= BlockStore.formatVersion else {
                    throw ChainError(.unsupportedFormat, "the data folder has store format version \(version); this kizuna reads versions 1 to \(BlockStore.formatVersion) (versions 1 to 4 are migrated on open): run the kizuna release that wrote it, or a newer one")
                }
                if store.isReadOnly {
                    // Version 4 differs only in what version 5 reads as it is (entries keyed
                    // by whole ids), so a read-only tool can read it without writing anything;
                    // older versions need their migration.
                    if version < BlockStore.compactBlocksFormatVersion {
                        throw ChainError(.unsupportedFormat, "the data folder has store format version \(version), which this kizuna migrates to version \(BlockStore.formatVersion) when it opens the folder for writing, but it is open read-only here: start the node on it once with this release (it migrates on start, ADR 0023), or use the kizuna release that wrote it")
                    }
                } else {
                    // Each step writes the next version (synced) once it is complete, so a run
                    // killed midway resumes at the step it was in.
                    if version == 1 {
                        try buildHistoryIndex(entriesPerBatch: migrationEntriesPerBatch, progress: migrationProgress)
                    }
                    if version <= 2 {
                        try rebuildStateTreeInPages(entriesPerBatch: migrationEntriesPerBatch, progress: treeMigrationProgress)
                    }
                    if version <= 3 {
                        try startCompactBlocks()
                    }
                    if version <= 4 {
                        try startShortTransactionKeys()
                    }
                }
            } else {
                let execution = try ledger.genesisExecution(store: store)
                var batch = execution.batch
                batch.put(encodeUInt32(BlockStore.formatVersion), for: MetaKey.formatVersion, in: .meta)
                batch.put(genesis.hash.bytes, for: MetaKey.genesisHash, in: .meta)
                batch.put(execution.stateRoot.bytes, for: MetaKey.genesisStateRoot, in: .meta)
                batch.put(encodeUInt64(0), for: MetaKey.tipHeight, in: .meta)
                try store.write(batch, sync: true)
            }
        } catch let error as ChainError {
            throw error
        } catch {
            throw ChainError(.storage, "\(error)")
        }
    }

    // MARK: - Reading

    /// The current tip, read from the store.
    public func tip() throws(ChainError) -> ChainTip {
        let height = try tipHeight()
        if height == 0 {
            guard let root = try read(MetaKey.genesisStateRoot, in: .meta).flatMap(Hash.init) else {
                throw ChainError(.corruptState, "the genesis state root is missing from the meta column family")
            }
            return ChainTip(height: 0, hash: .zero, stateRoot: root, timestamp: genesis.genesisTime)
        }
        guard let header = try header(at: height) else {
            throw ChainError(.missingBlock, "the tip block \(height) is missing")
        }
        return ChainTip(height: height, hash: header.hash, stateRoot: header.stateRoot, timestamp: header.timestamp)
    }

    /// The header of the block at `height`, decoded without its transactions: a block's
    /// bytes begin with its header, and the tip is asked for on every admission (decoding a
    /// whole block of 2,000 transactions there was a quarter of a validator's CPU under load).
    /// The rest of the bytes are checked whenever the whole block is read (`block(at:)`,
    /// `ChainVerifier`).
    public func header(at height: UInt64) throws(ChainError) -> BlockHeader? {
        try checkHeld(height)
        guard let bytes = try read(encodeUInt64(height), in: .blocks) else { return nil }
        do {
            var decoder = Decoder(bytes, keysAlreadyValidated: true)
            // A compact block (ADR 0029) has its header, canonical, after the form's byte.
            if StoredBlockForm.isCompact(bytes) { _ = try decoder.decodeUInt8() }
            return try BlockHeader(from: &decoder)
        } catch {
            throw ChainError(.corruptBlock, "block \(height) does not decode: \(error)")
        }
    }

    public func tipHeight() throws(ChainError) -> UInt64 {
        guard let bytes = try read(MetaKey.tipHeight, in: .meta) else {
            throw ChainError(.corruptState, "the tip height is missing from the meta column family")
        }
        return try Self.decodeUInt64(bytes, what: "tip height")
    }

    public func block(at height: UInt64) throws(ChainError) -> Block? {
        try checkHeld(height)
        guard let stored = try read(encodeUInt64(height), in: .blocks) else { return nil }
        do {
            let canonical = StoredBlockForm.isCompact(stored) ? try signerNumbers.canonicalBytes(ofCompact: stored) : stored
            return try Block(storedBytes: canonical)
        } catch {
            throw ChainError(.corruptBlock, "block \(height) does not decode: \(error)")
        }
    }

    /// The certificate that committed the block at `height`.
    public func certificate(at height: UInt64) throws(ChainError) -> CommitCertificate? {
        try checkHeld(height)
        return try decoded(CommitCertificate.self, at: encodeUInt64(height), in: .certificates, .corruptBlock, "the certificate of block \(height)")
    }

    public func height(ofBlock hash: Hash) throws(ChainError) -> UInt64? {
        guard let bytes = try read(hash.bytes, in: .blockHashes) else { return nil }
        return try Self.decodeUInt64(bytes, what: "block height of \(hash)")
    }

    /// Lookups of the state tree's kept pages (`treeCacheLevels`) that found them in memory,
    /// and those that read them from the store, since this store was opened (metrics).
    public var stateTreeCacheCounts: (hits: Int, misses: Int) {
        (ledger.treeCache.hits, ledger.treeCache.misses)
    }

    /// The positions of the committed transactions that name `account` (`AccountHistory`),
    /// newest first, strictly before `before` (from the tip when nil), at most `limit`: one
    /// range scan of the `account_history` family, whatever the chain's length.
    public func history(of account: PublicKey, before: ChainPosition?, limit: Int) throws(ChainError) -> [ChainPosition] {
        precondition(limit >= 0, "a negative history limit")
        guard limit > 0 else { return [] }
        let prefix = account.bytes
        let start = before.map { AccountHistory.key(account, $0) } ?? prefix
        var positions: [ChainPosition] = []
        var malformed: [UInt8]?
        do {
            try store.scan(.accountHistory, from: start, prefix: prefix) { key, _ in
                guard let position = AccountHistory.position(ofKey: key) else {
                    malformed = key
                    return false
                }
                // The cursor's own entry is the last one of the previous page.
                if let before, position >= before { return true }
                positions.append(position)
                return positions.count < limit
            }
        } catch {
            throw ChainError(.storage, "reading account_history: \(error)")
        }
        if let malformed {
            throw ChainError(.corruptIndex, "the account-history index holds a malformed key \(malformed.hexString)")
        }
        return positions
    }

    public func account(_ key: PublicKey) throws(ChainError) -> AccountState? {
        try decoded(AccountState.self, at: StateKey.account(key), in: .state, .corruptState, "the state of account \(key.address)")
    }

    public func supply(_ asset: Asset) throws(ChainError) -> SupplyState {
        try decoded(SupplyState.self, at: StateKey.supply(asset), in: .state, .corruptState, "the \(asset.name) supply") ?? SupplyState()
    }

    /// Refuses a height below the snapshot this store started from (none for an archive).
    func checkHeld(_ height: UInt64) throws(ChainError) {
        guard height >= 1, height < snapshotHeight else { return }
        throw ChainError(.beforeSnapshot, "this node started from a state snapshot at height \(snapshotHeight) and holds no block below it (block \(height) asked for); an archive node (one that synced from genesis, the default) holds every block")
    }

    /// The validator sets of this chain as its committed state records them (ADR 0018): the set
    /// in force at every height up to the tip's next, and any change scheduled after it.
    public func validatorSchedule() throws(ChainError) -> ValidatorSchedule {
        do {
            return try ledger.validatorSchedule(store: store)
        } catch {
            throw ChainError(.corruptState, "the validator-set changes in the state do not decode: \(error)")
        }
    }

    /// The validator set that decides and certifies block `height` (at most the tip's next
    /// height plus the governance lead, which is as far as the state can know).
    public func validatorSet(at height: UInt64) throws(ChainError) -> ValidatorSet {
        try validatorSchedule().set(at: height)
    }

    /// `validated` as committed by `certificate`, which must verify against the validator set
    /// in force at the block's height: the one way every replayer (node, audit, reports,
    /// indexer) turns a checked block into a committed one.
    public func certify(_ validated: ValidatedBlock, by certificate: CommitCertificate) throws -> CommittedBlock {
        try validated.committed(by: certificate, chainId: genesis.chainId, validators: validatorSet(at: validated.height))
    }

    // MARK: - Writing

    /// Writes a block, the certificate that committed it, its transaction and account-history
    /// index entries and the state it produced, in one synced batch. Returns when it is
    /// durable. Only a block this node validated on this tip and saw certified gets here
    /// (`CommittedBlock`); the chain's invariants are checked again, always (a broken one is a
    /// bug: stop, write nothing).
    /// - Parameter sync: false for a block fetched by block sync, which its peers hold
    ///   certified: the write is not fsynced, and becomes durable with the next synced write
    ///   (`makeDurable()` at the end of the sync's batch, or a signature's record) — a crash
    ///   before then loses only blocks that sync fetches again, never one without those
    ///   before it.
    public func commit(_ committed: CommittedBlock, sync: Bool = true) throws(ChainError) {
        let block = committed.block
        let certificate = committed.certificate
        let execution = committed.execution
        let tip = try tip()
        precondition(block.height == tip.height + 1, "committing block \(block.height) on top of \(tip.height)")
        precondition(block.header.previousBlockHash == tip.hash, "committing block \(block.height) whose parent is not the tip")
        precondition(block.header.timestamp > tip.timestamp, "committing block \(block.height) whose time does not follow the tip's")
        precondition(certificate.blockHash == block.hash && certificate.height == block.height, "committing block \(block.height) with another block's certificate")
        var batch = execution.batch
        let heightKey = encodeUInt64(block.height)
        let signers = signerNumbers.numbers(forSignersOf: block, into: &batch)
        batch.put(StoredBlockForm.compactBytes(of: block, signerNumbers: signers.numbers) ?? block.canonicalBytes, for: heightKey, in: .blocks)
        batch.put(heightKey, for: block.hash.bytes, in: .blockHashes)
        batch.put(certificate.canonicalBytes, for: heightKey, in: .certificates)
        if keepsIndexes {
            try TransactionIndex.addEntries(of: execution.receipts, to: &batch) { key throws(ChainError) in
                try read(key, in: .transactions)
            }
            AccountHistory.addEntries(of: block, to: &batch)
        }
        batch.put(heightKey, for: MetaKey.tipHeight, in: .meta)
        do {
            try store.write(batch, sync: sync)
        } catch {
            signerNumbers.forgetNewest(signers.added)
            throw ChainError(.storage, "committing block \(block.height): \(error)")
        }
    }

    /// Makes every block committed without `sync` durable: the tip's height written again in a
    /// synced batch, which fsyncs the write-ahead log holding them all.
    public func makeDurable() throws(ChainError) {
        var batch = WriteBatch()
        batch.put(encodeUInt64(try tipHeight()), for: MetaKey.tipHeight, in: .meta)
        try write(batch, sync: true, what: "making the synced blocks durable")
    }

    // MARK: - Helpers

    func write(_ batch: WriteBatch, sync: Bool, what: String) throws(ChainError) {
        do {
            try store.write(batch, sync: sync)
        } catch {
            throw ChainError(.storage, "\(what): \(error)")
        }
    }

    func read(_ key: [UInt8], in family: ColumnFamily) throws(ChainError) -> [UInt8]? {
        do {
            return try store.get(key, in: family)
        } catch {
            throw ChainError(.storage, "reading \(family.rawValue): \(error)")
        }
    }

    /// The value this node stored at `key`, decoded; nil when there is none. One that does not
    /// decode is refused with `code`: "<what> does not decode: <why>".
    func decoded<Value: CanonicalDecodable>(_ type: Value.Type, at key: [UInt8], in family: ColumnFamily, _ code: ChainErrorCode, _ what: @autoclosure () -> String) throws(ChainError) -> Value? {
        guard let bytes = try read(key, in: family) else { return nil }
        do {
            return try Value(storedBytes: bytes)
        } catch {
            throw ChainError(code, "\(what()) does not decode: \(error)")
        }
    }

    static func decodeUInt64(_ bytes: [UInt8], what: String = "value") throws(ChainError) -> UInt64 {
        var decoder = Decoder(bytes)
        guard let value = try? decoder.decodeUInt64(), (try? decoder.finish()) != nil else {
            throw ChainError(.corruptState, "the stored \(what) is not an 8-byte integer")
        }
        return value
    }

    static func decodeUInt32(_ bytes: [UInt8]) throws(ChainError) -> UInt32 {
        var decoder = Decoder(bytes)
        guard let value = try? decoder.decodeUInt32(), (try? decoder.finish()) != nil else {
            throw ChainError(.corruptState, "the stored format version is not a 4-byte integer")
        }
        return value
    }
}

func encodeUInt64(_ value: UInt64) -> [UInt8] {
    var encoder = Encoder()
    encoder.encode(value)
    return encoder.bytes
}

func encodeUInt32(_ value: UInt32) -> [UInt8] {
    var encoder = Encoder()
    encoder.encode(value)
    return encoder.bytes
}
