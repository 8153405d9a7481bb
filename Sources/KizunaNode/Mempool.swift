public import KizunaCore

/// Which admission lane a transaction waits in. A campaign's payment flood fills the payment
/// lane; charges, grants, registrations, redemptions and the authorities' other work have
/// their own lane, so they are neither refused nor left out of blocks because of it
/// (`AdmissionControl`, `Mempool.candidates`).
public enum AdmissionLane: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Residents' transfers: pay, send, thank, payments to organisations and standing-order instalments.
    case payments = 0
    /// Everything else: register, charge, grant, redeem, refund, programs, freeze, recover,
    /// business payments and invoices, consent changes.
    case operations = 1

    public init(_ body: TransactionBody) {
        switch body {
        case .pay, .payAuthorised, .send, .thank, .payPublic, .payInstalment: self = .payments
        case .register, .charge, .createProgram, .grant, .redeem, .refund, .freeze, .unfreeze, .recover, .appointDelegate, .revokeDelegate,
             .setProgramTerms, .topUpProgram, .closeProgram: self = .operations
        // Businesses' payments and bills, and consent changes: not a campaign's flood.
        case .payBusiness, .issueInvoice, .payInvoice, .cancelInvoice, .updateConsent: self = .operations
        // Premium sales and event bonuses are the issuers' work; a premium charge is a charge;
        // standing orders are authorised and cancelled rarely.
        case .setPremium, .chargeExtended, .setEventBonus, .setRebateTiers, .authoriseStandingOrder, .cancelStandingOrder: self = .operations
        // The consortium's governance changes (ADR 0018).
        case .govern: self = .operations
        }
    }

    public var description: String { self == .payments ? "payments" : "operations" }
}

/// Verified transactions waiting for a block. Bounded in total and per account,
/// de-duplicated by id, and ordered per account by nonce. Not thread-safe: owned by the
/// `Node` actor.
public struct Mempool: Sendable {
    public let transactionsMax: Int
    public let transactionsPerAccountMax: Int

    private var byId: [Hash: VerifiedTransaction] = [:]
    /// When each transaction was admitted (wall-clock milliseconds), oldest first, for the
    /// time-to-live: a transaction that cannot commit (its nonce never becomes next) does not
    /// hold its place for ever.
    private var admissions: [(id: Hash, at: UInt64)] = []
    private var admissionsStart = 0
    private var admittedAt: [Hash: UInt64] = [:]
    /// Per signer: pending transactions sorted by nonce.
    private var bySigner: [PublicKey: [VerifiedTransaction]] = [:]
    /// Signers in order of first arrival, so block building is fair and deterministic
    /// for a given arrival order.
    private var signerOrder: [PublicKey] = []
    /// Pending transactions per lane (`AdmissionLane.rawValue`).
    public private(set) var laneCounts = [Int](repeating: 0, count: AdmissionLane.allCases.count)

    public init(transactionsMax: Int, transactionsPerAccountMax: Int) {
        precondition(transactionsMax > 0 && transactionsPerAccountMax > 0)
        self.transactionsMax = transactionsMax
        self.transactionsPerAccountMax = transactionsPerAccountMax
    }

    public var count: Int { byId.count }

    public func contains(_ id: Hash) -> Bool { byId[id] != nil }

    /// Adds a transaction, or throws when it is a duplicate or a limit is reached.
    public func transaction(_ id: Hash) -> VerifiedTransaction? { byId[id] }

    /// When `id` was admitted (milliseconds), if it is pending.
    public func admissionTime(_ id: Hash) -> UInt64? { admittedAt[id] }

    public mutating func add(_ transaction: VerifiedTransaction, admittedAt: UInt64 = 0) throws(TransactionError) {
        guard byId[transaction.id] == nil else {
            throw TransactionError(.duplicate, "transaction \(transaction.id) is already pending")
        }
        guard byId.count < transactionsMax else {
            throw TransactionError(.mempoolFull, "the node has \(byId.count) pending transactions, its limit; retry later")
        }
        let signer = transaction.transaction.signer
        var queue = bySigner[signer] ?? []
        guard queue.count < transactionsPerAccountMax else {
            throw TransactionError(.accountQueueFull, "this account already has \(queue.count) pending transactions; wait for them to commit")
        }
        if queue.contains(where: { $0.transaction.nonce == transaction.transaction.nonce }) {
            throw TransactionError(.duplicate, "another pending transaction of this account uses nonce \(transaction.transaction.nonce)")
        }
        let position = queue.firstIndex { $0.transaction.nonce > transaction.transaction.nonce } ?? queue.endIndex
        queue.insert(transaction, at: position)
        if bySigner[signer] == nil { signerOrder.append(signer) }
        bySigner[signer] = queue
        byId[transaction.id] = transaction
        admissions.append((transaction.id, admittedAt))
        self.admittedAt[transaction.id] = admittedAt
        laneCounts[AdmissionLane(transaction.transaction.body).rawValue] += 1
    }

    /// The account's pending transactions, sorted by nonce.
    public func queue(of signer: PublicKey) -> [VerifiedTransaction] { bySigner[signer] ?? [] }

    /// The pending transaction of `signer` with `nonce`, if any.
    public func pending(of signer: PublicKey, nonce: UInt64) -> VerifiedTransaction? {
        bySigner[signer]?.first { $0.transaction.nonce == nonce }
    }

    /// Accounts with pending transactions, in order of first arrival.
    public var signers: [PublicKey] { signerOrder }

    /// Pending transactions in `lane`.
    public func count(in lane: AdmissionLane) -> Int { laneCounts[lane.rawValue] }

    /// Removes and returns the transactions admitted at or before `cutoff` (milliseconds).
    public mutating func removeAdmitted(atOrBefore cutoff: UInt64) -> [VerifiedTransaction] {
        var expired: [VerifiedTransaction] = []
        while admissionsStart < admissions.count, admissions[admissionsStart].at <= cutoff {
            let id = admissions[admissionsStart].id
            // A later admission of the same id (after a removal) has its own entry.
            if let transaction = byId[id], let at = admittedAt[id], at <= cutoff { expired.append(transaction) }
            admissionsStart += 1
        }
        // Compact the queue once the consumed prefix dominates it.
        if admissionsStart > 1024 && admissionsStart * 2 > admissions.count {
            admissions.removeFirst(admissionsStart)
            admissionsStart = 0
        }
        remove(expired.map(\.id))
        return expired
    }

    /// Up to `limit` transactions for the next block: each account's run of consecutive
    /// nonces starting at its next nonce. Accounts whose next transaction is in the
    /// operations lane go first (a payment flood does not delay a charge or a grant), then
    /// the rest; within each, accounts in order of arrival.
    public func candidates(limit: Int, nextNonce: (PublicKey) -> UInt64?) -> [VerifiedTransaction] {
        var result: [VerifiedTransaction] = []
        for lane in [AdmissionLane.operations, .payments] {
            for signer in signerOrder {
                guard let queue = bySigner[signer], let head = queue.first, AdmissionLane(head.transaction.body) == lane,
                      var expected = nextNonce(signer) else { continue }
                for transaction in queue where transaction.transaction.nonce >= expected {
                    guard transaction.transaction.nonce == expected, result.count < limit else { break }
                    result.append(transaction)
                    expected += 1
                }
                if result.count >= limit { return result }
            }
        }
        return result
    }

    /// Removes transactions by id (committed or rejected).
    public mutating func remove(_ ids: some Sequence<Hash>) {
        var touched: [PublicKey] = []
        for id in ids {
            guard let transaction = byId.removeValue(forKey: id) else { continue }
            admittedAt[id] = nil
            laneCounts[AdmissionLane(transaction.transaction.body).rawValue] -= 1
            let signer = transaction.transaction.signer
            bySigner[signer]?.removeAll { $0.id == id }
            touched.append(signer)
        }
        for signer in touched where bySigner[signer]?.isEmpty == true {
            bySigner[signer] = nil
        }
        if !touched.isEmpty {
            signerOrder.removeAll { bySigner[$0] == nil }
        }
    }
}
