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

/// Blocks by height and hash, certificates, the transaction index and the ledger state, all
/// in one `KeyValueStore`. A block, its certificate, its index entries and the state it
/// produces are written in one synced batch (`commit`), so a crash keeps all or none.
public final class BlockStore: Sendable {
    public let store: any KeyValueStore
    public let genesis: Genesis
    public let ledger: Ledger

    enum MetaKey {
        static let formatVersion = Array("format_version".utf8)
        static let genesisHash = Array("genesis_hash".utf8)
        static let genesisStateRoot = Array("genesis_state_root".utf8)
        static let tipHeight = Array("tip_height".utf8)
    }

    /// The on-disk format this code writes and reads.
    public static let formatVersion: UInt32 = 1

    /// Opens the chain in `store`, writing the genesis state if the store is empty, or
    /// refusing a store that belongs to another genesis.
    public init(store: any KeyValueStore, genesis: Genesis) throws(ChainError) {
        self.store = store
        self.genesis = genesis
        self.ledger = Ledger(genesis: genesis)
        do {
            if let stored = try store.get(MetaKey.genesisHash, in: .meta) {
                guard stored == genesis.hash.bytes else {
                    throw ChainError(.genesisMismatch, "the data folder belongs to genesis \(stored.hexString), not to this genesis \(genesis.hash) (chain '\(genesis.chainId)'); use the right genesis or another data folder")
                }
                let version = try store.get(MetaKey.formatVersion, in: .meta).map { try Self.decodeUInt32($0) }
                guard version == BlockStore.formatVersion else {
                    throw ChainError(.corruptState, "store format version \(version.map(String.init) ?? "missing") is not \(BlockStore.formatVersion)")
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
        guard let block = try block(at: height) else {
            throw ChainError(.missingBlock, "the tip block \(height) is missing")
        }
        return ChainTip(height: height, hash: block.hash, stateRoot: block.header.stateRoot, timestamp: block.header.timestamp)
    }

    public func tipHeight() throws(ChainError) -> UInt64 {
        guard let bytes = try read(MetaKey.tipHeight, in: .meta) else {
            throw ChainError(.corruptState, "the tip height is missing from the meta column family")
        }
        return try Self.decodeUInt64(bytes, what: "tip height")
    }

    public func block(at height: UInt64) throws(ChainError) -> Block? {
        guard let bytes = try read(encodeUInt64(height), in: .blocks) else { return nil }
        do {
            return try Block(storedBytes: bytes)
        } catch {
            throw ChainError(.corruptBlock, "block \(height) does not decode: \(error)")
        }
    }

    /// The certificate that committed the block at `height`.
    public func certificate(at height: UInt64) throws(ChainError) -> CommitCertificate? {
        guard let bytes = try read(encodeUInt64(height), in: .certificates) else { return nil }
        do {
            return try CommitCertificate(storedBytes: bytes)
        } catch {
            throw ChainError(.corruptBlock, "the certificate of block \(height) does not decode: \(error)")
        }
    }

    public func height(ofBlock hash: Hash) throws(ChainError) -> UInt64? {
        guard let bytes = try read(hash.bytes, in: .blockHashes) else { return nil }
        return try Self.decodeUInt64(bytes, what: "block height of \(hash)")
    }

    /// Where a committed transaction is (height and index), or nil.
    public func receipt(of transactionId: Hash) throws(ChainError) -> Receipt? {
        guard let bytes = try read(transactionId.bytes, in: .transactions) else { return nil }
        do {
            return try Receipt(storedBytes: bytes)
        } catch {
            throw ChainError(.corruptIndex, "the index entry of transaction \(transactionId) does not decode")
        }
    }

    public func account(_ key: PublicKey) throws(ChainError) -> AccountState? {
        guard let bytes = try read(StateKey.account(key), in: .state) else { return nil }
        do {
            return try AccountState(storedBytes: bytes)
        } catch {
            throw ChainError(.corruptState, "the state of account \(key.address) does not decode")
        }
    }

    public func supply(_ asset: Asset) throws(ChainError) -> SupplyState {
        guard let bytes = try read(StateKey.supply(asset), in: .state) else { return SupplyState() }
        do {
            return try SupplyState(storedBytes: bytes)
        } catch {
            throw ChainError(.corruptState, "the \(asset.name) supply does not decode")
        }
    }

    // MARK: - Writing

    /// Writes a block, the certificate that committed it, its transaction index entries and
    /// the state it produced, in one synced batch. Returns when it is durable. Only a block
    /// this node validated on this tip and saw certified gets here (`CommittedBlock`); the
    /// chain's invariants are checked again, always (a broken one is a bug: stop, write nothing).
    public func commit(_ committed: CommittedBlock) throws(ChainError) {
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
        batch.put(block.canonicalBytes, for: heightKey, in: .blocks)
        batch.put(heightKey, for: block.hash.bytes, in: .blockHashes)
        batch.put(certificate.canonicalBytes, for: heightKey, in: .certificates)
        for receipt in execution.receipts {
            batch.put(receipt.canonicalBytes, for: receipt.transactionId.bytes, in: .transactions)
        }
        batch.put(heightKey, for: MetaKey.tipHeight, in: .meta)
        do {
            try store.write(batch, sync: true)
        } catch {
            throw ChainError(.storage, "committing block \(block.height): \(error)")
        }
    }

    // MARK: - Helpers

    func read(_ key: [UInt8], in family: ColumnFamily) throws(ChainError) -> [UInt8]? {
        do {
            return try store.get(key, in: family)
        } catch {
            throw ChainError(.storage, "reading \(family.rawValue): \(error)")
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
