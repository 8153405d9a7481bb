public import KizunaCore
public import KizunaStorage
import KizunaLedger
import KizunaStateTree

/// A state snapshot: the ledger state after a certified block, checkable against the genesis
/// validator set alone (`docs/snapshots.md`, ADR 0017).
///
/// A snapshot holds the block at height h with the certificate that committed it, and every
/// state record (key, value) of the state after it, sorted by key. A reader trusts none of it:
/// `verify` checks the certificate against the genesis validators (so the block, and with it
/// the header's state root, is the chain's), every transaction of the block, rebuilds the
/// state tree from the records and compares its root with the header's — before anything is
/// written. `install` then writes it into an empty store as a chain whose first held block is
/// h (`BlockStore.snapshotHeight`); the node block-syncs from h + 1.
public enum StateSnapshot {
    /// The first eight bytes of every snapshot file.
    public static let magic: [UInt8] = Array("KZSNAPSH".utf8)
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    /// Bounds on one record (a state key is at most a few dozen bytes; a value a few KiB).
    public static let keyBytesMax = 4096
    public static let valueBytesMax = 16 << 20

    /// What a snapshot says about itself, read before it is trusted.
    public struct Summary: Sendable, Equatable {
        public var chainId: String
        public var genesisHash: Hash
        public var height: UInt64
        public var blockHash: Hash
        public var stateRoot: Hash
        public var records: Int
        public var bytes: Int
    }

    /// A snapshot that passed every check of `verify`: only `verify` makes one.
    public struct Verified: Sendable {
        public let summary: Summary
        public let block: Block
        public let certificate: CommitCertificate
        let records: [(key: [UInt8], value: [UInt8])]
        /// The state tree's nodes built from the records (an empty tree's update: puts only).
        let treeBatch: WriteBatch
    }

    // MARK: - Writing

    /// The snapshot of `blocks` at its tip.
    /// - Throws: `snapshot.at_genesis` at height 0 (a new node starts from the genesis file),
    ///   `snapshot.read_failed` when the store cannot be read.
    public static func encode(_ blocks: BlockStore) throws(SnapshotError) -> (summary: Summary, bytes: [UInt8]) {
        let tip: ChainTip
        let block: Block
        let certificate: CommitCertificate
        do {
            tip = try blocks.tip()
            guard tip.height > 0 else {
                throw SnapshotError(.atGenesis, "the chain is at height 0: a node joins from the genesis file, there is no certified block to snapshot")
            }
            guard let stored = try blocks.block(at: tip.height), let storedCertificate = try blocks.certificate(at: tip.height) else {
                throw SnapshotError(.readFailed, "the tip block \(tip.height) or its certificate is missing from the store")
            }
            block = stored
            certificate = storedCertificate
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw SnapshotError(.readFailed, "reading the tip: \(error)", cause: error)
        }
        var records: [(key: [UInt8], value: [UInt8])] = []
        do {
            try blocks.store.scan(.state, from: [], prefix: []) { key, value in
                records.append((key, value))
                return true
            }
        } catch {
            throw SnapshotError(.readFailed, "reading the state: \(error)", cause: error)
        }
        let bytes = encode(genesis: blocks.genesis, block: block, certificate: certificate, records: records)
        let summary = Summary(chainId: blocks.genesis.chainId, genesisHash: blocks.genesis.hash, height: tip.height, blockHash: block.hash,
                              stateRoot: block.header.stateRoot, records: records.count, bytes: bytes.count)
        return (summary, bytes)
    }

    /// The snapshot's bytes from its parts (`docs/snapshots.md` §2), `records` in ascending key
    /// order. Checks nothing: `verify` is what a reader runs.
    public static func encode(genesis: Genesis, block: Block, certificate: CommitCertificate, records: [(key: [UInt8], value: [UInt8])], version: UInt32 = version) -> [UInt8] {
        var encoder = Encoder(reservingCapacity: 1 << 20)
        encoder.encodeFixed(magic)
        encoder.encode(version)
        encoder.encode(genesis.chainId)
        encoder.encode(genesis.hash)
        encoder.encode(block)
        encoder.encode(certificate)
        encoder.encode(UInt64(records.count))
        for record in records {
            encoder.encodeBytes(record.key)
            encoder.encodeBytes(record.value)
        }
        encoder.encode(Hash.sha256(encoder.bytes))
        return encoder.bytes
    }

    // MARK: - Reading

    /// Decodes and checks a snapshot against `genesis`; nothing in it is trusted before this.
    /// - Throws: `snapshot.malformed`, `snapshot.unsupported_version`, `snapshot.damaged`,
    ///   `snapshot.other_chain`, `snapshot.bad_certificate`, `snapshot.bad_block`,
    ///   `snapshot.state_root_mismatch`.
    public static func verify(_ bytes: [UInt8], genesis: Genesis) throws(SnapshotError) -> Verified {
        guard bytes.count >= magic.count + 4 + 32, Array(bytes[..<magic.count]) == magic else {
            throw SnapshotError(.malformed, "this is not a Kizuna state snapshot (it does not start with '\(String(decoding: magic, as: UTF8.self))')")
        }
        var decoder = Decoder(Array(bytes[magic.count..<(bytes.count - 32)]))
        let found: UInt32
        do {
            found = try decoder.decodeUInt32()
        } catch {
            throw SnapshotError(.malformed, "the snapshot's version does not decode: \(error)")
        }
        guard found == version else {
            throw SnapshotError(.unsupportedVersion, "the snapshot is of format version \(found); this kizuna reads version \(version): take the snapshot with the same release as the node that reads it")
        }
        guard Hash.sha256(Array(bytes[..<(bytes.count - 32)])).bytes == Array(bytes[(bytes.count - 32)...]) else {
            throw SnapshotError(.damaged, "the snapshot's checksum does not match its bytes: the file was damaged or cut in transfer; copy it again")
        }
        let chainId: String
        let genesisHash: Hash
        let block: Block
        let certificate: CommitCertificate
        var records: [(key: [UInt8], value: [UInt8])] = []
        do {
            chainId = try decoder.decodeString(maxBytes: 256)
            genesisHash = try decoder.decodeHash()
            guard chainId == genesis.chainId, genesisHash == genesis.hash else {
                throw SnapshotError(.otherChain, "the snapshot is of chain '\(chainId)' (genesis \(genesisHash)), the genesis given is of '\(genesis.chainId)' (\(genesis.hash))")
            }
            block = try decoder.decode(Block.self)
            certificate = try decoder.decode(CommitCertificate.self)
            let count = try decoder.decodeUInt64()
            guard count <= UInt64(decoder.remaining / 8) else {
                throw SnapshotError(.malformed, "the snapshot says it holds \(count) records, more than its \(decoder.remaining) remaining bytes can hold")
            }
            records.reserveCapacity(Int(count))
            for index in 0..<Int(count) {
                let key = try decoder.decodeBytes(maxBytes: keyBytesMax)
                let value = try decoder.decodeBytes(maxBytes: valueBytesMax)
                if let previous = records.last, !previous.key.lexicographicallyPrecedes(key) {
                    throw SnapshotError(.malformed, "record \(index) (key \(key.hexString)) is not after the one before it: records must be sorted by key, each key once")
                }
                records.append((key, value))
            }
            try decoder.finish()
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw SnapshotError(.malformed, "the snapshot does not decode: \(error)", cause: error)
        }
        // The certificate against the genesis validators: the block (and the state root its
        // header names) is the chain's block h, not a block someone wrote.
        do {
            try certificate.verify(chainId: genesis.chainId, height: block.height, blockHash: block.hash, validators: genesis.validators)
        } catch {
            throw SnapshotError(.badCertificate, "block \(block.height) (\(block.hash)): the snapshot's certificate does not commit it with more than 2/3 of the genesis validators' power: \(error)")
        }
        guard block.height > 0, block.header.chainId == genesis.chainId else {
            throw SnapshotError(.badBlock, "the snapshot's block is at height \(block.height) of chain '\(block.header.chainId)'")
        }
        do {
            _ = try BlockValidator.verifyTransactions(block, chainId: genesis.chainId)
        } catch {
            throw SnapshotError(.badBlock, "the snapshot's block does not check out: \(error)", cause: error)
        }
        // The state: the tree rebuilt from the records must have the header's root.
        let treeBatch: WriteBatch
        do {
            let update = try StateTree(store: MemoryStore()).update(records.map { (key: Ledger.treeKey($0.key), valueHash: Optional(Ledger.treeValue($0.value))) })
            guard update.root == block.header.stateRoot else {
                throw SnapshotError(.stateRootMismatch, "the snapshot's \(records.count) records hash to state root \(update.root), but block \(block.height) (\(block.hash)) commits to \(block.header.stateRoot): a record was changed, added or removed")
            }
            treeBatch = update.batch
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw SnapshotError(.malformed, "building the state tree from the records: \(error)", cause: error)
        }
        let summary = Summary(chainId: chainId, genesisHash: genesisHash, height: block.height, blockHash: block.hash,
                              stateRoot: block.header.stateRoot, records: records.count, bytes: bytes.count)
        return Verified(summary: summary, block: block, certificate: certificate, records: records, treeBatch: treeBatch)
    }
}

/// The codes of `SnapshotError` (`docs/snapshots.md`).
public enum SnapshotErrorCode: String, ErrorCode {
    /// Not a snapshot, truncated, records out of order or repeated, or bytes left over.
    case malformed = "snapshot.malformed"
    /// A format version this code does not read.
    case unsupportedVersion = "snapshot.unsupported_version"
    /// The trailing checksum does not match: damaged in transfer.
    case damaged = "snapshot.damaged"
    /// The snapshot is of another chain than the genesis given.
    case otherChain = "snapshot.other_chain"
    /// The certificate does not commit the block with a quorum of the genesis validators.
    case badCertificate = "snapshot.bad_certificate"
    /// The block's transactions do not verify or do not match its transactions root.
    case badBlock = "snapshot.bad_block"
    /// The records do not hash to the block's state root.
    case stateRootMismatch = "snapshot.state_root_mismatch"
    /// The chain is at height 0: nothing certified to snapshot.
    case atGenesis = "snapshot.at_genesis"
    /// The store could not be read while taking a snapshot.
    case readFailed = "snapshot.read_failed"
    /// The store to install into already holds a chain or state.
    case targetNotEmpty = "snapshot.target_not_empty"
    /// Writing the snapshot (file) or installing it (store) failed.
    case writeFailed = "snapshot.write_failed"
    /// The snapshot file's path is relative, exists already, or has no parent folder.
    case badTarget = "snapshot.bad_target"
    /// The node's store is not a RocksDB store (only one can be checkpointed).
    case unsupportedStore = "snapshot.unsupported_store"
}

public typealias SnapshotError = CodedError<SnapshotErrorCode>

extension StateSnapshot {
    /// The tip height of the chain `store` holds, or nil when it holds none yet (a new data
    /// folder, or one with only a validator's consensus journal).
    public static func heldTipHeight(in store: any KeyValueStore) throws(SnapshotError) -> UInt64? {
        do {
            guard let bytes = try store.get(BlockStore.MetaKey.tipHeight, in: .meta) else { return nil }
            return try BlockStore.decodeUInt64(bytes, what: "tip height")
        } catch {
            throw SnapshotError(.readFailed, "reading the data folder's store: \(error)", cause: error)
        }
    }

    /// Writes a verified snapshot into `store` as a chain whose first held block is the
    /// snapshot's: its state records and tree, the block with its certificate and index
    /// entries, and the meta of a store at that tip (`BlockStore.snapshotHeight`). One synced
    /// batch: a crash keeps all or nothing. `store` must hold no chain (a validator's consensus
    /// journal from `kizuna signer init` may be there).
    /// - Throws: `snapshot.other_chain`, `snapshot.target_not_empty`, `snapshot.write_failed`.
    public static func install(_ snapshot: Verified, into store: any KeyValueStore, genesis: Genesis) throws(SnapshotError) {
        guard snapshot.summary.genesisHash == genesis.hash else {
            throw SnapshotError(.otherChain, "the snapshot was verified for genesis \(snapshot.summary.genesisHash), not \(genesis.hash)")
        }
        let genesisRoot: Hash
        do {
            for family in [ColumnFamily.meta, .blocks, .state, .stateTree] {
                guard try store.entries(withPrefix: [], in: family, limit: 1).isEmpty else {
                    throw SnapshotError(.targetNotEmpty, "the store already holds a chain (column family \(family.rawValue) is not empty); a snapshot starts a new data folder")
                }
            }
            genesisRoot = try Ledger(genesis: genesis).genesisExecution(store: MemoryStore()).stateRoot
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw SnapshotError(.writeFailed, "reading the target store: \(error)", cause: error)
        }
        let block = snapshot.block
        let heightKey = encodeUInt64(block.height)
        var batch = snapshot.treeBatch
        for record in snapshot.records { batch.put(record.value, for: record.key, in: .state) }
        batch.put(block.canonicalBytes, for: heightKey, in: .blocks)
        batch.put(heightKey, for: block.hash.bytes, in: .blockHashes)
        batch.put(snapshot.certificate.canonicalBytes, for: heightKey, in: .certificates)
        let receipts = block.transactions.enumerated().map { index, transaction in
            Receipt(transactionId: transaction.id, height: block.height, index: UInt32(index))
        }
        // The target store is empty (checked above): no entry to add to but this block's own.
        TransactionIndex.addEntries(of: receipts, to: &batch) { _ throws(Never) in nil }
        AccountHistory.addEntries(of: block, to: &batch)
        batch.put(encodeUInt32(BlockStore.formatVersion), for: BlockStore.MetaKey.formatVersion, in: .meta)
        batch.put(genesis.hash.bytes, for: BlockStore.MetaKey.genesisHash, in: .meta)
        batch.put(genesisRoot.bytes, for: BlockStore.MetaKey.genesisStateRoot, in: .meta)
        batch.put(heightKey, for: BlockStore.MetaKey.tipHeight, in: .meta)
        batch.put(heightKey, for: BlockStore.MetaKey.snapshotHeight, in: .meta)
        do {
            try store.write(batch, sync: true)
        } catch {
            throw SnapshotError(.writeFailed, "writing the snapshot into the store: \(error)", cause: error)
        }
    }
}
