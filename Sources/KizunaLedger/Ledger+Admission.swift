public import KizunaCore
public import KizunaStorage

/// Admission: would a transaction apply if it went into the next block? Answered by the same
/// `beginBlock` and `apply` that execute blocks — one code path, not a copy of the rules — on
/// an overlay that is thrown away.
///
/// A node checks a submission against the committed state plus the signer's own pending
/// transactions (the ones with lower nonces, which must commit first), and after every
/// commit it re-checks what is still pending, so that a transaction that cannot apply never
/// waits in the mempool (docs/api.md §1).
public struct AdmissionState: Sendable {
    /// The state the next block starts from: committed state after the block's time-based
    /// rules (expiries, base-date snapshots) at `context`.
    public let context: BlockContext
    private let blockStart: StateOverlay
    /// The ledger with the rules in force at the next block (governance, ADR 0018).
    private let rules: Ledger
    /// The validator set and asset policies in force at the next block: a verdict kept from one
    /// block to the next (ADR 0020) holds only if these did not change (ADR 0018).
    public var rulesInForce: Genesis { rules.genesis }
    /// The keys the time rules at the start of the next block wrote: where this start may
    /// differ from the committed state (ADR 0020).
    public let startKeys: [[UInt8]]

    /// Begins the next block on `store` at `context` (its height is the tip's plus one, its
    /// timestamp the time the caller expects the block at).
    public init(ledger: Ledger, context: BlockContext, store: any KeyValueStore) throws {
        // Every check at this tip copies this overlay and reads the same committed state:
        // what one check read from the store, the next reads from memory. A new tip makes a
        // new `AdmissionState` (`Node.admissionState()`).
        var overlay = StateOverlay(base: store, memoizingBaseReads: true)
        try ledger.beginBlock(context: context, store: store, overlay: &overlay)
        overlay.commitTransaction()
        self.context = context
        self.blockStart = overlay
        self.rules = try ledger.inForce(at: context.height, state: overlay)
        self.startKeys = overlay.changes.map(\.key)
    }

    /// The verdict for one account's chain of transactions applied in order on the start of
    /// the next block.
    public struct Verdict: Sendable {
        /// How many transactions of the chain apply, in order, from the first.
        public var applying: Int
        /// Why the transaction at index `applying` does not apply (nil: all of them do).
        public var failure: TransactionError?
        /// The overlay after the applying prefix, to check a further transaction on
        /// (`extending`) without applying the prefix again.
        public var overlay: StateOverlay
        /// What the chain's checks read (keys, prefixes, how much of the block time).
        public var reads: StateReadLog
    }

    /// Applies `chain` in order until one fails. `ledger` is the one the state was begun with;
    /// the rules applied are those in force at the next block. A `TransactionError` is a verdict; any other
    /// error (a failed read, a corrupt value) is the node's and is thrown.
    public func check(_ chain: [VerifiedTransaction], ledger: Ledger) throws -> Verdict {
        let reads = StateReadLog()
        var overlay = blockStart
        overlay.reads = reads
        return try extending(Verdict(applying: 0, failure: nil, overlay: overlay, reads: reads), with: chain, ledger: ledger)
    }

    /// Applies `more` after the applying prefix of `verdict` (whose chain must have applied
    /// in full), continuing its count.
    public func extending(_ verdict: Verdict, with more: [VerifiedTransaction], ledger: Ledger) throws -> Verdict {
        precondition(verdict.failure == nil, "a chain that failed cannot be extended")
        var result = verdict
        var context = self.context
        context.reads = verdict.reads
        for transaction in more {
            do {
                try rules.apply(transaction, context: context, overlay: &result.overlay)
                result.overlay.commitTransaction()
                result.applying += 1
            } catch let error as TransactionError {
                result.overlay.rollbackTransaction()
                result.failure = error
                return result
            }
        }
        return result
    }
}
