public import KizunaCore
public import KizunaChain
public import KizunaLedger
import Logging
import NIOConcurrencyHelpers
import Synchronization

/// Admission (docs/api.md §1): a transaction enters the mempool only if the ledger's own rules
/// apply it on the committed state plus its account's pending transactions of lower nonce;
/// after every commit what is still pending is checked again, and whatever can no longer
/// apply leaves with a final `rejected` status. So nothing waits that cannot commit, no
/// account is blocked by a transaction that will not commit, and an idle network with
/// mistakes in it stays idle (blocks are built only for proposable transactions).
extension Node {
    /// Why a submission is refused before the ledger looks at it: admission control
    /// (`mempool.overloaded`), cheap enough to answer a campaign spike without verifying a
    /// signature. Nil: go on. Runs outside the actor, on the caller's thread.
    public nonisolated func admissionRefusal(for transaction: SignedTransaction, client: String?) -> AdmissionControl.Refusal? {
        let refusal = admission.withLockedValue { $0.check(lane: AdmissionLane(transaction.transaction.body), client: client, accountPending: 0) }
        if refusal != nil { metrics.add("kizuna_admission_refusals_total", label: TransactionError.Code.overloaded.rawValue) }
        return refusal
    }

    /// Why a submission is refused while this node syncs blocks it is missing: its state is
    /// older than the network's, so a nonce, a balance or a registration that is fine on the
    /// network would be judged wrong here and refused finally (`tx.nonce_gap`,
    /// `ledger.unknown_account`, …). The answer is retryable (`node.catching_up`, 503 with
    /// `Retry-After`): the same transaction, sent again here when caught up or now to another
    /// node, is judged on the current state. Nil: go on. Runs outside the actor.
    public nonisolated func catchingUpRefusal() -> (error: TransactionError, retryAfterSeconds: UInt64)? {
        guard let catchUp = catchingUp else { return nil }
        metrics.add("kizuna_admission_refusals_total", label: TransactionError.Code.catchingUp.rawValue)
        let error = TransactionError(
            .catchingUp,
            "this node is catching up with the network (block \(catchUp.height) of \(catchUp.target)) and cannot judge "
                + "a transaction yet; send it again after Retry-After, or to another node; nothing was kept")
        return (error, catchUp.retryAfterSeconds)
    }

    /// Where block sync stands while this node is behind its peers; nil when caught up — or
    /// when the sync has made no progress for `CatchUp.progressWindowMilliseconds`: the
    /// target is only what peers said, and a peer that claims heights it cannot deliver must
    /// not stop this node from judging submissions.
    public nonisolated var catchingUp: CatchUp? {
        guard let catchUp = catchUp.withLock({ $0 }) else { return nil }
        let now = wallClockMilliseconds()
        guard now < catchUp.updatedAt || now - catchUp.updatedAt < CatchUp.progressWindowMilliseconds else { return nil }
        return catchUp
    }

    /// The `Retry-After` of an overload refusal: seconds until the backlog commits.
    public nonisolated var admissionRetryAfterSeconds: UInt64 { admission.withLockedValue { $0.retryAfterSeconds } }

    /// Admits a verified transaction to the mempool, or says why not — with the ledger's code
    /// when it cannot apply (final: the transaction changes nothing and is not kept).
    /// - Parameter client: who sent it (the API's client address), for the fair share under load.
    public func submit(_ transaction: VerifiedTransaction, client: String? = nil) throws(TransactionError) {
        do {
            try admitSubmission(transaction, client: client)
        } catch {
            throw refused(transaction, error)
        }
    }

    /// `submit`, but a nonce gap waits up to `admission.nonceGapWaitMilliseconds` for the
    /// account's earlier nonces to arrive first: one wallet's pipelined requests on parallel
    /// connections reach the node in any order. Past the bound the gap is refused
    /// (`tx.nonce_gap`), in the same answer; only that final answer is remembered and counted.
    public func submitAllowingReorder(_ transaction: VerifiedTransaction, client: String? = nil) async throws(TransactionError) {
        let deadline = wallClockMilliseconds() + configuration.admission.nonceGapWaitMilliseconds
        while true {
            do {
                try admitSubmission(transaction, client: client)
                return
            } catch where error.code == .nonceGap && wallClockMilliseconds() < deadline {
                try? await Task.sleep(nanoseconds: 10_000_000)
            } catch {
                throw refused(transaction, error)
            }
        }
    }

    /// One admission attempt of a submission; a store failure is the node's, not the
    /// transaction's.
    private func admitSubmission(_ transaction: VerifiedTransaction, client: String?) throws(TransactionError) {
        do {
            try admit(transaction, client: client, fromGossip: false)
        } catch let error as TransactionError {
            throw error
        } catch {
            logger.error("store read failed during submission", metadata: ["error": "\(error)"])
            throw TransactionError(.malformed, "the node could not read its store; retry later")
        }
    }

    /// Books a final refusal: counted, and remembered as `rejected` when it says something about
    /// the transaction itself (not a full mempool, an overload or a duplicate).
    private func refused(_ transaction: VerifiedTransaction, _ error: TransactionError) -> TransactionError {
        switch error.code {
        case .duplicate, .mempoolFull, .accountQueueFull, .overloaded, .malformed:
            break
        default:
            remember(transaction.id, error)
        }
        metrics.add("kizuna_admission_refusals_total", label: error.code.rawValue)
        return error
    }

    /// Admits transactions a peer gossiped (already verified); returns how many were new.
    /// The same check as for the API, but refusals are silent and not remembered: this node
    /// may be a block behind the one that admitted them, and that node proposes them anyway.
    @discardableResult
    public func admitGossiped(_ transactions: [VerifiedTransaction]) -> Int {
        var admitted = 0
        for transaction in transactions where !mempool.contains(transaction.id) && rejected[transaction.id] == nil {
            do {
                try admit(transaction, client: nil, fromGossip: true)
                admitted += 1
            } catch {
                continue
            }
        }
        return admitted
    }

    /// The account's next nonce counting its pending transactions here: `committed` plus its
    /// run of consecutive pending nonces from there.
    public func pendingNonce(of signer: PublicKey, committed: UInt64) -> UInt64 {
        var next = committed
        for transaction in mempool.queue(of: signer) where transaction.transaction.nonce >= committed {
            guard transaction.transaction.nonce == next else { break }
            next += 1
        }
        return next
    }

    /// The one admission path of the API and of gossip.
    private func admit(_ transaction: VerifiedTransaction, client: String?, fromGossip: Bool) throws {
        let id = transaction.id
        let signer = transaction.transaction.signer
        let nonce = transaction.transaction.nonce
        guard !mempool.contains(id) else {
            throw TransactionError(.duplicate, "transaction \(id) is already pending")
        }
        if try blocks.receipt(of: id) != nil {
            throw TransactionError(.duplicate, "transaction \(id) is already committed")
        }
        // Admission control refuses submissions, not gossip: the peer that admitted a
        // transaction already counted it against the same network-wide backlog.
        let lane = AdmissionLane(transaction.transaction.body)
        if !fromGossip, let refusal = admission.withLockedValue({ $0.check(lane: lane, client: client, accountPending: mempool.queue(of: signer).count) }) {
            metrics.add("kizuna_admission_overloaded_total", label: lane.description)
            throw TransactionError(.overloaded, refusal.message)
        }
        // An unregistered signer can never commit (registration must commit first).
        guard let account = try blocks.account(signer) else {
            throw TransactionError(.unknownAccount, "the signer \(signer.address) is not registered")
        }
        guard nonce >= account.nonce else {
            throw TransactionError(.badNonce, "nonce \(nonce) was already used; the account's next nonce is \(account.nonce)")
        }
        let queue = mempool.queue(of: signer).filter { $0.transaction.nonce >= account.nonce }
        // The pending transactions this one follows: a consecutive run from the next nonce.
        var prefix: [VerifiedTransaction] = []
        for pending in queue where pending.transaction.nonce < nonce {
            guard pending.transaction.nonce == account.nonce + UInt64(prefix.count) else { break }
            prefix.append(pending)
        }
        guard account.nonce + UInt64(prefix.count) == nonce else {
            if fromGossip {
                // Gossip may arrive out of order (a batch dropped under load): wait, unchecked
                // and not proposable, for the gap to fill; the recheck after the next commit
                // or the time-to-live ends it.
                try mempool.add(transaction, admittedAt: wallClockMilliseconds())
                syncAdmission()
                return
            }
            let pendingNote = prefix.isEmpty ? "none of its transactions is pending" : "its pending transactions take it to \(account.nonce + UInt64(prefix.count))"
            throw TransactionError(.nonceGap, "nonce \(nonce) leaves a gap: the account's next nonce is \(account.nonce) and \(pendingNote); submit nonce \(account.nonce + UInt64(prefix.count)) first")
        }
        let displaced = mempool.pending(of: signer, nonce: nonce)
        let verdict = try checkChain(signer: signer, prefix: prefix, adding: transaction)
        if let failure = verdict.failure {
            guard verdict.applying == prefix.count else {
                throw TransactionError(failure.code, "a pending transaction of this account (nonce \(account.nonce + UInt64(verdict.applying))) no longer applies: \(failure.message)")
            }
            throw failure
        }
        if let displaced {
            // Replacement: the same nonce, so at most one of the two can ever commit.
            mempool.remove([displaced.id])
            released([displaced.id])
            let error = TransactionError(.replaced, "replaced by transaction \(id), which has the same nonce \(nonce)")
            remember(displaced.id, error)
            resolve(displaced.id, .rejected(error))
        }
        try mempool.add(transaction, admittedAt: wallClockMilliseconds())
        forgetRejection(id)
        if let client {
            clientOf[id] = client
            admission.withLockedValue { $0.clientAdmitted(client) }
        }
        if displaced != nil {
            // The account's later nonces were checked on top of the displaced transaction: on
            // every node that sees the replacement they are rejected the same way (a receipt
            // still outranks it in `status`, should another validator be ahead).
            chainCache[signer] = nil
            recheck(signer)
        } else {
            chainCache[signer] = verdict
            keepRecord(of: signer, ids: (prefix + [transaction]).map(\.id), reads: verdict.reads, day: AdmissionRecord.day(of: try admissionState().context))
        }
        syncAdmission()
        if !fromGossip { admissionObserver?(transaction) }
    }

    /// The verdict for `prefix` followed by `transaction`, reusing the account's cached
    /// verdict when the prefix is exactly what it covers.
    private func checkChain(signer: PublicKey, prefix: [VerifiedTransaction], adding transaction: VerifiedTransaction) throws -> AdmissionState.Verdict {
        let state = try admissionState()
        if let cached = chainCache[signer], cached.failure == nil, cached.applying == prefix.count,
           mempool.queue(of: signer).last?.transaction.nonce == prefix.last?.transaction.nonce {
            return try state.extending(cached, with: [transaction], ledger: blocks.ledger)
        }
        return try state.check(prefix + [transaction], ledger: blocks.ledger)
    }

    /// The start of the next block on the current tip, built once per tip. Its time is the
    /// tip's plus one millisecond, not the wall clock: every node then reaches the same
    /// verdict on the same tip (so a rejection reads the same everywhere), and a test's
    /// clock is the chain's. A lot that expires before the next block actually begins is
    /// caught by that block's proposal and by the recheck after it.
    func admissionState() throws -> AdmissionState {
        // The tip's height is one small read; the header only when the tip moved.
        if let cached = admissionCache, cached.height == (try blocks.tipHeight()) { return cached.state }
        let tip = try blocks.tip()
        let context = Self.admissionContext(tip: tip)
        let state = try AdmissionState(ledger: blocks.ledger, context: context, store: blocks.store)
        admissionCache = (tip.height, state)
        chainCache = [:]
        return state
    }

    /// Where admission checks run: the block after `tip`, one millisecond after it.
    public static func admissionContext(tip: ChainTip) -> BlockContext {
        BlockContext(height: tip.height + 1, timestamp: tip.timestamp + 1)
    }

    /// Checks one account's pending chain on the tip; what fails leaves with a final
    /// rejection, and the account's later nonces with it.
    func recheck(_ signer: PublicKey) {
        admissionRecords[signer] = nil
        let queue = mempool.queue(of: signer)
        guard !queue.isEmpty else { return }
        var ended: [(VerifiedTransaction, TransactionError)] = []
        var checked: (reads: StateReadLog, day: UInt32)?
        do {
            let nextNonce = try blocks.account(signer)?.nonce ?? 0
            var chain: [VerifiedTransaction] = []
            for transaction in queue {
                if transaction.transaction.nonce < nextNonce {
                    ended.append((transaction, TransactionError(.badNonce, "nonce \(transaction.transaction.nonce) was used by another transaction")))
                } else if transaction.transaction.nonce == nextNonce + UInt64(chain.count) {
                    chain.append(transaction)
                } else {
                    break   // a gap (gossip out of order): the rest waits, not proposable
                }
            }
            let state = try admissionState()
            let verdict = try state.check(chain, ledger: blocks.ledger)
            checked = (verdict.reads, AdmissionRecord.day(of: state.context))
            if let failure = verdict.failure {
                let failed = chain[verdict.applying]
                ended.append((failed, failure))
                for later in queue where later.transaction.nonce > failed.transaction.nonce {
                    ended.append((later, TransactionError(.nonceGap, "the account's transaction with nonce \(failed.transaction.nonce) was rejected (\(failure.code)), so nonce \(later.transaction.nonce) can no longer follow it")))
                }
                chainCache[signer] = nil
            } else if verdict.applying == queue.count {
                chainCache[signer] = verdict
            }
        } catch {
            logger.error("store read failed while re-checking pending transactions", metadata: ["error": "\(error)"])
            return
        }
        // What stays pending (a gap's waiting tail included: filling the gap changes the queue
        // and so calls for a new check) was checked on what these reads saw.
        let endedIDs = Set(ended.map(\.0.id))
        let staying = queue.filter { !endedIDs.contains($0.id) }
        if let checked, !staying.isEmpty {
            keepRecord(of: signer, ids: staying.map(\.id), reads: checked.reads, day: checked.day)
        }
        guard !ended.isEmpty else { return }
        mempool.remove(ended.map(\.0.id))
        released(ended.map(\.0.id))
        for (transaction, error) in ended {
            remember(transaction.id, error)
            resolve(transaction.id, .rejected(error))
            logger.info("pending transaction rejected", metadata: ["id": "\(transaction.id)", "code": "\(error.code)", "reason": "\(error.message)"])
        }
    }

    /// Transactions that left the mempool no longer count against their client's share.
    func released(_ ids: some Sequence<Hash>) {
        var clients: [String] = []
        for id in ids {
            if let client = clientOf.removeValue(forKey: id) { clients.append(client) }
        }
        guard !clients.isEmpty else { return }
        admission.withLockedValue { control in
            for client in clients { control.clientReleased(client) }
        }
    }

    /// Tells admission control the mempool's backlog per lane.
    func syncAdmission() {
        let counts = mempool.laneCounts
        admission.withLockedValue { $0.setBacklog(counts) }
        metrics.set("kizuna_mempool_transactions", Double(mempool.count))
    }
}

/// Where block sync stands while a node is behind its peers (`Node.catchUp`).
public struct CatchUp: Sendable, Equatable {
    /// The node's committed height.
    public var height: UInt64
    /// The highest height a peer reported.
    public var target: UInt64
    /// Blocks applied per second so far (0 before the first batch).
    public var blocksPerSecond: Double
    /// Wall-clock milliseconds of the sync's start or of its last batch of verified blocks.
    public var updatedAt: UInt64

    public init(height: UInt64, target: UInt64, blocksPerSecond: Double = 0, updatedAt: UInt64) {
        self.height = height
        self.target = target
        self.blocksPerSecond = blocksPerSecond
        self.updatedAt = updatedAt
    }

    /// How long a sync may go without a batch of verified blocks and still count: longer than
    /// the sync's retry (3 s) so that asking the next peer does not end it.
    public static let progressWindowMilliseconds: UInt64 = 10_000

    /// Seconds until the node should be caught up at the rate so far: at least 1, at most
    /// `retryAfterSecondsMax` (a long sync is told to come back later, not to hammer it).
    public var retryAfterSeconds: UInt64 {
        let left = target > height ? Double(target - height) : 0
        guard blocksPerSecond > 0 else { return 1 }
        return UInt64(min(Double(Self.retryAfterSecondsMax), max(1, (left / blocksPerSecond).rounded(.up))))
    }

    public static let retryAfterSecondsMax: UInt64 = 30
}
