public import KizunaCore
public import KizunaChain
public import KizunaLedger
import KizunaStorage

/// Read-only queries the API answers from the node's store. They read committed data only
/// (RocksDB reads are consistent per key; a block and its state land in one atomic batch).
extension Node {
    /// The validator key this node signs with (public half).
    public nonisolated var validatorPublicKey: PublicKey { key.publicKey }

    public nonisolated func block(at height: UInt64) throws -> Block? { try blocks.block(at: height) }

    public nonisolated func certificate(at height: UInt64) throws -> CommitCertificate? { try blocks.certificate(at: height) }

    public nonisolated func account(_ key: PublicKey) throws -> AccountState? { try blocks.account(key) }

    /// The chain's validator sets (ADR 0018): genesis's, then each governance change.
    public nonisolated func validatorSchedule() throws -> ValidatorSchedule { try blocks.validatorSchedule() }

    /// The validator set that decides block `height` (the next block's: the tip's height + 1).
    public nonisolated func validatorSet(at height: UInt64) throws -> ValidatorSet { try blocks.validatorSet(at: height) }

    /// Every asset-policy amendment, by effective height (ADR 0018).
    public nonisolated func policyAmendments() throws -> [PolicyAmendment] { try blocks.ledger.policyAmendments(store: blocks.store) }

    /// Every charge-channel and category-fee amendment, by effective height (ADR 0021).
    public nonisolated func townAmendments() throws -> [GovernanceChange] { try blocks.ledger.townAmendments(store: blocks.store) }

    /// The charge channels and the redemption fees by merchant category in force at block
    /// `height` (at most the tip's + 1 + the governance lead).
    public nonisolated func channelsAndFees(at height: UInt64) throws -> (channels: [ChargeChannelDefinition], categoryFees: [Asset: [CategoryFee]]) {
        let rules = try blocks.ledger.inForce(at: height, store: blocks.store).genesis
        return (rules.effectiveChargeChannels, rules.categoryFees)
    }

    /// The asset policies in force at block `height` (at most the tip's + 1 + the governance lead).
    public nonisolated func policies(at height: UInt64) throws -> (coin: AssetPolicy, point: AssetPolicy, thanks: AssetPolicy) {
        let rules = try blocks.ledger.inForce(at: height, store: blocks.store).genesis
        return (rules.coin, rules.point, rules.thanks)
    }

    /// The lots `key` holds of a lot-based asset (points, thanks), soonest-expiring first.
    public nonisolated func lots(_ key: PublicKey, _ asset: Asset) throws -> LotList {
        try StateOverlay(base: blocks.store).lots(key, asset)
    }

    /// The block store of the tip, or a replica replayed to `height` (re-validating every
    /// block: cost proportional to `height`). Throws `chain.wrong_height` above the tip.
    public nonisolated func chain(at height: UInt64?) throws -> BlockStore {
        guard let height, height != (try blocks.tipHeight()) else { return blocks }
        return try ChainReports.state(at: height, of: blocks)
    }

    /// One entry of an account's history: a committed transaction that names the account.
    public struct HistoryEntry: Sendable {
        public var transaction: SignedTransaction
        public var height: UInt64
        public var index: UInt32
        public var timestamp: UInt64

        public var position: ChainPosition { ChainPosition(height: height, index: index) }
    }

    /// A page of history, newest first, and where the next page starts.
    public struct HistoryPage: Sendable {
        public var entries: [HistoryEntry]
        /// The position of the page's last entry, to pass as `before` for the next (older)
        /// page; nil when there is none (the account's first transaction is on this page).
        public var next: ChainPosition?
    }

    /// The transactions that name `account` (`SignedTransaction.namedAccounts`), newest first,
    /// strictly before `before` (from the tip when nil): exactly `limit` of them unless the
    /// account's first transaction is reached. Served from the account-history index: one
    /// range scan of `limit + 1` keys and one read per block the page touches, whatever the
    /// chain's length.
    public nonisolated func history(of account: PublicKey, before: ChainPosition?, limit: Int) throws -> HistoryPage {
        precondition(limit >= 1, "a history page of \(limit) entries")
        let positions = try blocks.history(of: account, before: before, limit: limit + 1)
        var entries: [HistoryEntry] = []
        entries.reserveCapacity(min(limit, positions.count))
        var previous: Block?
        for position in positions.prefix(limit) {
            let block: Block
            if let previous, previous.height == position.height {
                block = previous
            } else {
                guard let read = try blocks.block(at: position.height) else {
                    throw ChainError(.missingBlock, "block \(position.height), named by the account-history index of \(account.address), is missing")
                }
                block = read
                previous = read
            }
            // Checked after reading, like every stored value: the entry must name this account.
            let index = Int(position.index)
            guard index < block.transactions.count, block.transactions[index].names(account) else {
                throw ChainError(.corruptIndex, "the account-history entry \(position) of \(account.address) does not name a transaction of that account")
            }
            entries.append(HistoryEntry(transaction: block.transactions[index], height: position.height, index: position.index, timestamp: block.header.timestamp))
        }
        return HistoryPage(entries: entries, next: positions.count > limit ? entries.last?.position : nil)
    }
}
