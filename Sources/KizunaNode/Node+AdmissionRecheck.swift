public import KizunaCore
public import KizunaChain
public import KizunaLedger

/// What an account's pending chain was last checked on (ADR 0020): the transactions the check
/// covered, in nonce order, what it read, and the Japan-time date of the block it was checked
/// for. Valid on the start of the next block at the tip it was made on; a commit keeps it only
/// when nothing the block changed could have changed the verdict.
struct AdmissionRecord {
    var ids: [Hash]
    var reads: StateReadLog
    var day: UInt32

    /// The Japan-time date (yyyymmdd) of a block context.
    static func day(of context: BlockContext) -> UInt32 {
        LedgerCalendar.japanDayAndHour(context.stampTime).day
    }
}

extension Node {
    /// Keeps what an account's chain check read. The account's own entry is always among
    /// the reads: the check's next nonce comes from it.
    func keepRecord(of signer: PublicKey, ids: [Hash], reads: StateReadLog, day: UInt32) {
        reads.noteKey(StateKey.account(signer))
        admissionRecords[signer] = AdmissionRecord(ids: ids, reads: reads, day: day)
    }

    /// After a commit: every account's pending chain that the block could have made
    /// inapplicable is checked again on the new tip. What can no longer apply is rejected for
    /// good with its code, and the account's later nonces with it (`tx.nonce_gap`), so the
    /// account is free at once, not at the TTL.
    ///
    /// A chain is checked again unless all of these hold (ADR 0020): its record covers exactly
    /// what is pending now, after the block took a prefix of it; no key it read, and no key
    /// under a prefix it listed, was written by the block's time rules, by another account's
    /// transaction in the block, or by the time rules at the start of the previous or the
    /// next block; it did not compare the exact block time or height; and if it used the
    /// Japan-time date, the block and the next one fall on the date it was checked for. Then
    /// every read sees the same value on the new tip as when it was checked — the account's
    /// own committed transactions wrote what its check wrote — so the verdict is the same.
    /// Without an execution to compare (or with no start of the previous block at hand)
    /// every chain is checked.
    func recheckPending(after execution: BlockExecution? = nil) {
        let previous = admissionCache
        admissionCache = nil
        chainCache = [:]
        let signers = mempool.signers
        var kept = 0
        // A governance change that holds from the next block (ADR 0018) changes no state key
        // there, but may change any verdict: then every chain is checked.
        if let execution, let previous, let tip = try? blocks.tipHeight(), previous.height + 1 == tip, let next = try? admissionState(),
           next.rulesInForce == previous.state.rulesInForce {
            let changes = BlockChanges(execution: execution, previousStart: previous.state.startKeys, nextStart: next.startKeys)
            let nextDay = AdmissionRecord.day(of: next.context)
            let blockDay = LedgerCalendar.japanDayAndHour(next.context.stampTime - 1).day
            var records: [PublicKey: AdmissionRecord] = [:]
            for signer in signers {
                if var record = admissionRecords[signer], changes.keeps(&record, of: signer, queue: mempool.queue(of: signer), days: (blockDay, nextDay)) {
                    records[signer] = record
                    kept += 1
                } else {
                    records[signer] = nil
                }
            }
            admissionRecords = records
            for signer in signers where records[signer] == nil {
                recheck(signer)
            }
        } else {
            admissionRecords = [:]
            for signer in signers {
                recheck(signer)
            }
        }
        // The next block's start, built now: the next commit compares with its time rules.
        _ = try? admissionState()
        metrics.add("kizuna_admission_rechecked_accounts_total", Double(signers.count - kept))
        metrics.add("kizuna_admission_recheck_skipped_accounts_total", Double(kept))
        syncAdmission()
    }
}

/// The keys a commit changed, as a pending chain's check sees them: written by the block's
/// time rules or by the time rules at the start of the previous or the next block (for every
/// account), or by a transaction of the block (for every account but the transaction's own).
struct BlockChanges {
    /// Keys changed for every account.
    private var common: Set<ByteKey> = []
    /// Keys the block's transactions wrote, with the one account that wrote each (nil: more
    /// than one account did).
    private var written: [ByteKey: PublicKey?] = [:]
    /// Per account, the ids of its transactions the block committed, in order.
    private var committed: [PublicKey: [Hash]] = [:]

    init(execution: BlockExecution, previousStart: [[UInt8]], nextStart: [[UInt8]]) {
        common.formUnion(previousStart.map(ByteKey.init))
        common.formUnion(nextStart.map(ByteKey.init))
        common.formUnion(execution.startWrites.map(ByteKey.init))
        for (transaction, keys) in zip(execution.accepted, execution.acceptedWrites) {
            let signer = transaction.transaction.signer
            committed[signer, default: []].append(transaction.id)
            for key in keys.map(ByteKey.init) {
                if let writer = written[key] {
                    if writer != signer { written[key] = .some(nil) }
                } else {
                    written[key] = .some(signer)
                }
            }
        }
    }

    /// True if `key` may hold another value for `signer`'s chain than when it was checked.
    private func changed(_ key: ByteKey, for signer: PublicKey) -> Bool {
        if common.contains(key) { return true }
        guard let writer = written[key] else { return false }
        return writer != signer
    }

    /// True if `record` still stands for `signer`'s pending `queue` after the block; then
    /// it is updated to cover what stays pending.
    func keeps(_ record: inout AdmissionRecord, of signer: PublicKey, queue: [VerifiedTransaction], days: (block: UInt32, next: UInt32)) -> Bool {
        switch record.reads.time {
        case .exact: return false
        case .day: guard record.day == days.block, record.day == days.next else { return false }
        case .none: break
        }
        let taken = committed[signer] ?? []
        guard record.ids.starts(with: taken) else { return false }
        let remaining = record.ids.dropFirst(taken.count)
        guard remaining.elementsEqual(queue.map(\.id)) else { return false }
        for key in record.reads.keys where changed(key, for: signer) { return false }
        for prefix in record.reads.prefixes {
            if common.contains(where: { $0.bytes.starts(with: prefix) }) { return false }
            if written.contains(where: { $0.key.bytes.starts(with: prefix) && $0.value != signer }) { return false }
        }
        record.ids = Array(remaining)
        return true
    }
}
