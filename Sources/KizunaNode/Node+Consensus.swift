public import KizunaCore
public import KizunaChain
public import KizunaLedger

/// What the consensus engine asks of the node: build a proposal from the mempool, validate a
/// peer's proposal by executing it, commit a decided block, admit gossiped transactions.
extension Node {
    /// Sets the hook that sees every transaction the API admits (the engine gossips them).
    public func setAdmissionObserver(_ observer: (@Sendable (VerifiedTransaction) -> Void)?) {
        admissionObserver = observer
    }

    /// Drops pending transactions older than the time-to-live; they are reported as rejected.
    public func expireMempool(nowMilliseconds: UInt64) {
        let ttl = configuration.mempoolTransactionTtlMilliseconds
        guard nowMilliseconds > ttl else { return }
        let cutoff = nowMilliseconds - ttl
        let expiredDeferred = deferred.values.filter { $0.admittedAt <= cutoff }.map(\.transaction).sorted { $0.id < $1.id }
        for transaction in expiredDeferred { deferred[transaction.id] = nil }
        let expired = mempool.removeAdmitted(atOrBefore: cutoff)
        released(expired.map(\.id))
        syncAdmission()
        for transaction in expired + expiredDeferred {
            let error = TransactionError(.expiredInMempool, "the transaction waited \(ttl) ms without committing (is its nonce the account's next?)")
            remember(transaction.id, error)
            resolve(transaction.id, .rejected(error))
        }
    }

    /// True if the mempool holds a transaction that could go into the next block now.
    public func hasProposableTransactions() -> Bool {
        guard mempool.count > 0 else { return false }
        let store = blocks
        return !mempool.candidates(limit: 1, nextNonce: { (try? store.account($0))??.nonce }).isEmpty
    }

    /// Builds the next block on the tip from the mempool (the proposer's step). Transactions
    /// that fail execution are left out and reported rejected.
    public func buildProposal(timestamp: UInt64, proposer: PublicKey, lastCommit: CommitCertificate?) throws -> ValidatedBlock {
        let store = blocks
        func nextNonce(_ key: PublicKey) -> UInt64? { (try? store.account(key))??.nonce }
        let candidates = mempool.candidates(limit: configuration.blockTransactionsMax, nextNonce: nextNonce)
        let proposal = try validator.propose(candidates: candidates, timestamp: timestamp, proposer: proposer, lastCommit: lastCommit)
        let execution = proposal.execution
        // A transaction that fails against this node's state now is not rejected for good: the
        // proposal may not be decided, this node may be behind, and other validators hold the
        // transaction too and may commit it. It waits out of the mempool until the next commit,
        // and its status says why it was left out (`TransactionStatus.deferred`) — at most
        // `deferredTransactionsMax` of them (proposals in later rounds add more before a commit).
        for (transaction, error) in execution.rejected {
            guard deferred[transaction.id] != nil || deferred.count < configuration.deferredTransactionsMax else {
                dropDeferred(transaction, leftOutBecause: error)
                continue
            }
            let admittedAt = mempool.admissionTime(transaction.id) ?? wallClockMilliseconds()
            deferred[transaction.id] = (transaction, admittedAt, error)
            resolve(transaction.id, .deferred(error))
        }
        mempool.remove(execution.rejected.map(\.transaction.id))
        released(execution.rejected.map(\.transaction.id))
        syncAdmission()
        return proposal
    }

    /// A transaction left out of a proposal with no room to wait for the next commit: rejected
    /// for good, so its client is answered, and counted.
    private func dropDeferred(_ transaction: VerifiedTransaction, leftOutBecause reason: TransactionError) {
        let error = TransactionError(.mempoolFull, "left out of a proposal (\(reason.code): \(reason.message)) while \(configuration.deferredTransactionsMax) transactions already waited for the next commit; submit it again")
        metrics.add("kizuna_deferred_dropped_total")
        remember(transaction.id, error)
        resolve(transaction.id, .rejected(error))
    }

    /// After a commit: deferred transactions go back to the mempool, keeping their admission
    /// time (so the time-to-live still ends them), unless committed or their nonce was used.
    func readmitDeferred() {
        guard !deferred.isEmpty else { return }
        let entries = deferred.values.sorted { ($0.admittedAt, $0.transaction.id) < ($1.admittedAt, $1.transaction.id) }
        deferred = [:]
        // The mempool can be full when a deferred transaction comes back (a campaign spike):
        // it stays deferred for the next commit rather than vanishing while its client was
        // told it is pending (and, with it, every later nonce of its account). The
        // time-to-live still ends it (`expireMempool`).
        for entry in entries {
            let transaction = entry.transaction
            do {
                if try blocks.receipt(of: transaction.id) != nil { continue }
                if let account = try blocks.account(transaction.transaction.signer), transaction.transaction.nonce < account.nonce {
                    let error = TransactionError(.badNonce, "nonce \(transaction.transaction.nonce) was used by another transaction (earlier it was left out: \(entry.error.code))")
                    remember(transaction.id, error)
                    resolve(transaction.id, .rejected(error))
                    continue
                }
                try mempool.add(transaction, admittedAt: entry.admittedAt)
            } catch let error as TransactionError where error.code == .mempoolFull || error.code == .accountQueueFull {
                // No room: it waits out of the mempool, but only if it can still apply on
                // what committed (after the account's pending nonces below it).
                let prefix = mempool.queue(of: transaction.transaction.signer).filter { $0.transaction.nonce < transaction.transaction.nonce }
                if let verdict = try? admissionState().check(prefix + [transaction], ledger: blocks.ledger), let failure = verdict.failure, verdict.applying == prefix.count {
                    remember(transaction.id, failure)
                    resolve(transaction.id, .rejected(failure))
                    continue
                }
                deferred[transaction.id] = entry
            } catch {
                // A duplicate that arrived again by gossip (it is pending already), or a store
                // error (the next commit's retry cannot do better): it leaves the deferred set.
                continue
            }
        }
    }

    /// For each of the block's transactions, the mempool's verified copy if it holds one.
    public func mempoolVerified(_ block: Block) -> [VerifiedTransaction?] {
        block.transactions.map { signed in
            guard let known = mempool.transaction(signed.id), known.signed == signed else { return nil }
            return known
        }
    }

    /// Validates a block proposed for the next height by executing it on the tip.
    /// - Parameter verified: the block's transactions, verified by the caller (signatures the
    ///   mempool verified on admission are not verified again; the rest on all cores).
    public func validateProposal(_ block: Block, verified: [VerifiedTransaction]) throws(ChainError) -> ValidatedBlock {
        try validator.validate(block, verified: verified)
    }

    /// Writes a block consensus decided, with its certificate, in one synced batch (`sync`
    /// false: a block of block sync, made durable at the end of its batch).
    public func commitDecided(_ committed: CommittedBlock, sync: Bool = true) throws {
        try blocks.commit(committed, sync: sync)
        let block = committed.block
        lastBlockMilliseconds = block.header.timestamp
        afterCommit(block, certificate: committed.certificate, execution: committed.execution)
    }
}
