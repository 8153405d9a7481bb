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
    }

    /// A page of history, newest first, and where the next page starts (nil: the chain's start
    /// was reached). There is no per-account index in the store yet, so this scans blocks
    /// backwards from `beforeHeight`, at most `blocksScannedMax` of them per page: a page can
    /// come back short, with `nextBeforeHeight` set, when the scan limit is reached.
    public struct HistoryPage: Sendable {
        public var entries: [HistoryEntry]
        /// Blocks at and above this height were scanned; continue from it.
        public var nextBeforeHeight: UInt64?
        public var blocksScanned: Int
    }

    /// The transactions that name `account`, newest first, from blocks below `beforeHeight`
    /// (or from the tip), stopping after `limit` entries (a block is always finished, so a page
    /// may hold up to one block's worth more) or `blocksScannedMax` blocks.
    public nonisolated func history(of account: PublicKey, beforeHeight: UInt64?, limit: Int, blocksScannedMax: Int) throws -> HistoryPage {
        let tip = try blocks.tipHeight()
        var height = min(beforeHeight.map { $0 == 0 ? 0 : $0 - 1 } ?? tip, tip)
        var entries: [HistoryEntry] = []
        var scanned = 0
        while height >= 1 && entries.count < limit && scanned < blocksScannedMax {
            guard let block = try blocks.block(at: height) else { throw ChainError(.missingBlock, "block \(height) is missing") }
            scanned += 1
            for (index, transaction) in block.transactions.enumerated().reversed() where Node.names(account, in: transaction) {
                entries.append(HistoryEntry(transaction: transaction, height: height, index: UInt32(index), timestamp: block.header.timestamp))
            }
            height -= 1
        }
        return HistoryPage(entries: entries, nextBeforeHeight: height >= 1 ? height + 1 : nil, blocksScanned: scanned)
    }

    /// Does `transaction` involve `account` (as signer, co-signer, or a key in its body)?
    public static func names(_ account: PublicKey, in transaction: SignedTransaction) -> Bool {
        if transaction.transaction.signer == account { return true }
        if transaction.cosignatures.contains(where: { $0.signer == account }) { return true }
        return counterparties(of: transaction.transaction.body).contains(account)
    }

    /// The keys a transaction body names.
    public static func counterparties(of body: TransactionBody) -> [PublicKey] {
        switch body {
        case .register(let register): [register.account]
        case .charge(let charge): [charge.to]
        case .send(let send): [send.to]
        case .createProgram(let program): [program.funder]
        case .grant(let grant): [grant.to]
        case .pay(let pay): [pay.merchant]
        case .thank(let thank): [thank.to]
        case .redeem: []
        case .refund(let refund): [refund.account]
        case .freeze(let action), .unfreeze(let action): [action.account]
        case .recover(let recover): [recover.from, recover.to]
        }
    }
}
