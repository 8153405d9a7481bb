public import KizunaCore
public import KizunaStorage
public import KizunaLedger
import KizunaStateTree
import Foundation

/// Checks a stored chain when a node starts: every block's hash link, transactions root,
/// carried parent certificate and stored certificate, every transaction signature and index
/// entry (transactions and account history), and that the stored state (every value) hashes to the tip's state root. Any
/// changed byte is reported with what and where. A store started from a state snapshot
/// (`BlockStore.snapshotHeight`) is checked from the snapshot's block, whose certificate
/// must commit it with a quorum of the genesis validators.
public struct ChainVerifier: Sendable {
    public let blocks: BlockStore

    public init(blocks: BlockStore) {
        self.blocks = blocks
    }

    public struct Summary: Sendable {
        public var height: UInt64
        public var tipHash: Hash
        public var stateRoot: Hash
        public var transactions: Int
        public var stateEntries: Int
        /// The snapshot height the store started from (0: an archive, every block held).
        public var snapshotHeight: UInt64 = 0
    }

    /// - Parameter progress: called with (verified height, tip height) now and then.
    public func verify(progress: (UInt64, UInt64) -> Void = { _, _ in }) throws(ChainError) -> Summary {
        let genesis = blocks.genesis
        let tipHeight = try blocks.tipHeight()
        guard let genesisRoot = try blocks.read(BlockStore.MetaKey.genesisStateRoot, in: .meta).flatMap(Hash.init) else {
            throw ChainError(.corruptState, "the genesis state root is missing")
        }
        var parent = ChainTip(height: 0, hash: .zero, stateRoot: genesisRoot, timestamp: genesis.genesisTime)
        let validator = BlockValidator(blocks: blocks)
        var transactionCount = 0
        var historyEntryCount = 0
        // A store started from a snapshot holds blocks from the snapshot's height: that block
        // is trusted by its certificate (checked below, against the genesis validators), not
        // by a parent this store does not have.
        let base = blocks.snapshotHeight
        var height: UInt64 = max(1, base)
        // The validator sets followed from the blocks themselves (their `govern` transactions),
        // not from the state read at the tip: the state is checked only at the end. A store
        // started from a snapshot (format v1, ADR 0017) follows them from the genesis set too:
        // a change made before its snapshot's height fails the check at the end.
        var schedule = ValidatorSchedule(genesis: genesis.validators)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        while height <= tipHeight {
            guard let block = try blocks.block(at: height) else {
                throw ChainError(.missingBlock, "block \(height) is missing (tip is \(tipHeight))")
            }
            guard block.height == height else {
                throw ChainError(.corruptBlock, "the block stored at height \(height) says it is block \(block.height)")
            }
            if height != base {
                try validator.checkHeader(block.header, tip: parent, schedule: schedule)
                try validator.checkLastCommit(block, parentHash: parent.hash, schedule: schedule)
            }
            // On every core: nothing else runs while a node checks its store at start.
            let transactions = try validator.verifyTransactions(block, parts: cores)
            for (index, transaction) in transactions.enumerated() {
                // The entry must list this position (ADR 0031); that it is this transaction
                // is what the block just read says, so no block is read again.
                guard try blocks.indexedPositions(of: transaction.id).contains(ChainPosition(height: height, index: UInt32(index))) else {
                    throw ChainError(.corruptIndex, "block \(height): the index entry of transaction \(index) (\(transaction.id)) is missing or points elsewhere")
                }
                let named = transaction.signed.namedAccounts
                for account in named {
                    let key = AccountHistory.key(account, ChainPosition(height: height, index: UInt32(index)))
                    guard try blocks.read(key, in: .accountHistory) != nil else {
                        throw ChainError(.corruptIndex, "block \(height): the account-history entry of transaction \(index) (\(transaction.id)) for \(account.address) is missing")
                    }
                }
                historyEntryCount += named.count
            }
            transactionCount += transactions.count
            guard let certificate = try blocks.certificate(at: height) else {
                throw ChainError(.badCertificate, "block \(height) (\(block.hash)) has no stored certificate")
            }
            do {
                try certificate.verify(chainId: genesis.chainId, height: height, blockHash: block.hash, validators: schedule.set(at: height))
            } catch {
                throw ChainError(.badCertificate, "block \(height) (\(block.hash)): the stored certificate is invalid: \(error)")
            }
            guard try blocks.height(ofBlock: block.hash) == height else {
                throw ChainError(.corruptIndex, "block \(height): the hash index does not map \(block.hash) to it")
            }
            schedule = schedule.noting(block)
            parent = ChainTip(height: height, hash: block.hash, stateRoot: block.header.stateRoot, timestamp: block.header.timestamp)
            if height % 1000 == 0 { progress(height, tipHeight) }
            height += 1
        }
        // The indexes hold exactly the committed blocks and transactions: a stray entry would
        // make a transaction look committed that never was.
        let indexedTransactions = try blocks.indexedTransactionCount()
        guard indexedTransactions == transactionCount else {
            throw ChainError(.corruptIndex, "the transaction index holds \(indexedTransactions) entries, the chain has \(transactionCount) transactions")
        }
        let indexedHistory = try count(.accountHistory)
        guard indexedHistory == historyEntryCount else {
            throw ChainError(.corruptIndex, "the account-history index holds \(indexedHistory) entries, the chain's transactions name \(historyEntryCount) accounts")
        }
        let indexedBlocks = try count(.blockHashes)
        let heldBlocks = base == 0 ? Int(tipHeight) : Int(tipHeight - base + 1)
        guard indexedBlocks == heldBlocks else {
            throw ChainError(.corruptIndex, "the block-hash index holds \(indexedBlocks) entries, the store holds \(heldBlocks) blocks")
        }
        for family in [ColumnFamily.blocks, .certificates] {
            let stored = try count(family)
            guard stored == heldBlocks else {
                throw ChainError(.corruptIndex, "column family \(family.rawValue) holds \(stored) entries, the store holds \(heldBlocks) blocks")
            }
        }
        // The state: every stored value must hash into the tip's state root.
        var leaves: [Hash: Hash] = [:]
        do {
            try blocks.store.scan(.state, from: [], prefix: []) { key, value in
                leaves[Ledger.treeKey(key)] = Ledger.treeValue(value)
                return true
            }
        } catch {
            throw ChainError(.storage, "reading the state: \(error)")
        }
        let computed = StateTree.computeRoot(of: leaves)
        guard computed == parent.stateRoot else {
            throw ChainError(.corruptState, "the stored state hashes to \(computed), but block \(parent.height) (\(parent.hash)) commits to state root \(parent.stateRoot): a state value was changed, added or removed")
        }
        let storedTreeRoot: Hash
        do {
            storedTreeRoot = try StateTree(store: blocks.store).verifyStoredTree().root
        } catch {
            throw ChainError(.corruptState, "the state tree is unreadable: \(error)")
        }
        guard storedTreeRoot == parent.stateRoot else {
            throw ChainError(.corruptState, "the stored state tree has root \(storedTreeRoot), block \(parent.height) commits to \(parent.stateRoot)")
        }
        guard try blocks.validatorSchedule() == schedule else {
            if base > 0 {
                throw ChainError(.corruptState, "this store started from a state snapshot at height \(base), and the validator set changed by governance before that height: snapshot format v1 follows only the genesis validators from its height (ADR 0017); start this node from genesis (block sync) instead")
            }
            throw ChainError(.corruptState, "the validator-set changes in the state differ from those the blocks' governance transactions made")
        }
        progress(tipHeight, tipHeight)
        return Summary(height: tipHeight, tipHash: parent.hash, stateRoot: parent.stateRoot, transactions: transactionCount, stateEntries: leaves.count, snapshotHeight: base)
    }

    private func count(_ family: ColumnFamily) throws(ChainError) -> Int {
        var count = 0
        do {
            try blocks.store.scan(family, from: [], prefix: []) { _, _ in
                count += 1
                return true
            }
        } catch {
            throw ChainError(.storage, "reading \(family.rawValue): \(error)")
        }
        return count
    }
}
