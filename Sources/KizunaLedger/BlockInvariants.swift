public import KizunaCore

/// The invariants of design §2.4 that one block must keep, checked from the block's own writes
/// at the block boundary, in production (`Ledger.execute` stops the process on a violation:
/// a ledger that lost or made money must not commit the block). `docs/ledger-rules.md`,
/// "Invariants checked after every block".
///
/// Incremental: it reads only the accounts, supplies and programs the block wrote, with their
/// values before the block, so a block costs O(its writes), never a scan of the state. By
/// induction from genesis (where every sum is zero) it keeps the whole-state identities that
/// `LedgerReports.invariantViolation` (the auditor's full check) recomputes from scratch.
public enum BlockInvariants {
    /// One state value the block wrote: before the block (committed) and after (nil: deleted).
    public struct Change: Sendable {
        public var key: [UInt8]
        public var before: [UInt8]?
        public var after: [UInt8]?

        public init(key: [UInt8], before: [UInt8]?, after: [UInt8]?) {
            self.key = key
            self.before = before
            self.after = after
        }
    }

    /// The writes the checks read: accounts, asset supplies, programs, delegates, invoices,
    /// standing orders (BlockInvariants+StandingOrders.swift).
    public static func isChecked(_ key: [UInt8]) -> Bool {
        guard let prefix = key.first else { return false }
        return prefix == StateKey.account || prefix == StateKey.supply || prefix == StateKey.programPrefix || prefix == StateKey.delegatePrefix || prefix == StateKey.invoicePrefix
            || isStandingOrderKey(prefix)
    }

    /// What the block broke, one line each (empty: every invariant holds). Pure: the same
    /// changes give the same answer, in the order of `changes` then of `Asset.allCases`.
    ///
    /// Per asset, with Δ the counter's growth in this block:
    /// - the supply counters (minted, redeemed, refunded, expired) never decrease, and
    ///   redeemed + refunded + expired ≤ minted;
    /// - the balances the block touched grew by exactly Δminted − Δredeemed − Δrefunded −
    ///   Δexpired (balances untouched did not change, so Σ balances moved with outstanding);
    /// - for points and thanks, which only programs mint: Σ Δgranted of the block's programs
    ///   of that asset = Δminted, and Σ Δexpired = Δexpired.
    ///
    /// Per program the block wrote: granted ≤ budget, used + expired ≤ granted, and granted,
    /// used and expired never decrease.
    public static func violations(_ changes: [Change]) -> [String] {
        var problems: [String] = []
        // Indexed by `Asset.allCases` position; 128 bits, so no sum of 64-bit values overflows.
        var balancesBefore = [UInt128](repeating: 0, count: Asset.allCases.count)
        var balancesAfter = balancesBefore
        var supplyBefore = [SupplyState](repeating: SupplyState(), count: Asset.allCases.count)
        var supplyAfter = supplyBefore
        var programGranted = balancesBefore
        var programExpired = balancesBefore
        for change in changes where isChecked(change.key) {
            func decode<T: CanonicalDecodable>(_ type: T.Type) -> (before: T?, after: T?)? {
                do {
                    return (try change.before.map { try T(storedBytes: $0) }, try change.after.map { try T(storedBytes: $0) })
                } catch {
                    problems.append("state key \(change.key.hexString) does not decode as \(T.self): \(error)")
                    return nil
                }
            }
            switch change.key[0] {
            case StateKey.account:
                guard let account = decode(AccountState.self) else { continue }
                for (index, asset) in Asset.allCases.enumerated() {
                    balancesBefore[index] += UInt128(account.before?.balance(asset) ?? 0)
                    balancesAfter[index] += UInt128(account.after?.balance(asset) ?? 0)
                }
            case StateKey.supply:
                guard change.key.count == 2, let asset = Asset(rawValue: change.key[1]), let index = Asset.allCases.firstIndex(of: asset) else {
                    problems.append("state key \(change.key.hexString) is not an asset's supply")
                    continue
                }
                guard let supply = decode(SupplyState.self) else { continue }
                supplyBefore[index] = supply.before ?? SupplyState()
                supplyAfter[index] = supply.after ?? SupplyState()
            case StateKey.standingOrderPrefix, StateKey.payerStandingOrderPrefix:
                continue
            case StateKey.invoicePrefix:
                guard let invoice = decode(InvoiceState.self) else { continue }
                problems.append(contentsOf: invoiceViolations(key: change.key, before: invoice.before, after: invoice.after))
            case StateKey.delegatePrefix:
                guard let delegate = decode(DelegateState.self) else { continue }
                guard let after = delegate.after else {
                    problems.append("state key \(change.key.hexString): a delegate's record was deleted")
                    continue
                }
                if after.granted > after.terms.budgetYen {
                    problems.append("delegate \(after.terms.delegate.address) of program \(after.terms.program): granted \(after.granted) exceeds its budget \(after.terms.budgetYen)")
                }
                if let before = delegate.before, after.granted < before.granted {
                    problems.append("delegate \(after.terms.delegate.address) of program \(after.terms.program): granted decreased (\(before.granted) → \(after.granted))")
                }
            default:
                guard let program = decode(ProgramState.self) else { continue }
                guard let after = program.after else {
                    problems.append("state key \(change.key.hexString): a program was deleted")
                    continue
                }
                let before = program.before
                if after.granted > after.definition.budgetYen {
                    problems.append("program \(after.id): granted \(after.granted) exceeds its budget \(after.definition.budgetYen)")
                }
                if UInt128(after.used) + UInt128(after.expired) > UInt128(after.granted) {
                    problems.append("program \(after.id): used \(after.used) + expired \(after.expired) exceed granted \(after.granted)")
                }
                let (grantedBefore, usedBefore, expiredBefore) = (before?.granted ?? 0, before?.used ?? 0, before?.expired ?? 0)
                guard after.granted >= grantedBefore, after.used >= usedBefore, after.expired >= expiredBefore else {
                    problems.append("program \(after.id): a counter decreased (granted \(grantedBefore) → \(after.granted), used \(usedBefore) → \(after.used), expired \(expiredBefore) → \(after.expired))")
                    continue
                }
                guard let index = Asset.allCases.firstIndex(of: after.definition.asset) else { continue }
                programGranted[index] += UInt128(after.granted - grantedBefore)
                programExpired[index] += UInt128(after.expired - expiredBefore)
            }
        }
        problems.append(contentsOf: standingOrderViolations(changes))
        for (index, asset) in Asset.allCases.enumerated() {
            let (before, after) = (supplyBefore[index], supplyAfter[index])
            guard after.minted >= before.minted, after.redeemed >= before.redeemed, after.refunded >= before.refunded, after.expired >= before.expired else {
                problems.append("\(asset.name): a supply counter decreased (\(describe(before)) → \(describe(after)))")
                continue
            }
            if after.outstanding == nil {
                problems.append("\(asset.name): redeemed + refunded + expired exceed minted (\(describe(after)))")
            }
            let minted = UInt128(after.minted - before.minted)
            let removed = UInt128(after.redeemed - before.redeemed) + UInt128(after.refunded - before.refunded) + UInt128(after.expired - before.expired)
            // Σ after − Σ before = minted − removed, kept in unsigned terms.
            if balancesAfter[index] + removed != balancesBefore[index] + minted {
                problems.append("\(asset.name): the balances the block touched went from \(balancesBefore[index]) to \(balancesAfter[index]), but the block minted \(minted) and redeemed, refunded or expired \(removed)")
            }
            if asset != .coin {
                if programGranted[index] != minted {
                    problems.append("\(asset.name): the block minted \(minted) but its programs granted \(programGranted[index])")
                }
                if programExpired[index] != UInt128(after.expired - before.expired) {
                    problems.append("\(asset.name): the block expired \(after.expired - before.expired) but its programs' lots expired \(programExpired[index])")
                }
            }
        }
        return problems
    }

    /// An invoice is never deleted; what it bills (issuer, payer, amount, due date,
    /// reference) never changes; paid ≤ amount and never decreases; a cancellation stays.
    static func invoiceViolations(key: [UInt8], before: InvoiceState?, after: InvoiceState?) -> [String] {
        guard let after else { return ["state key \(key.hexString): an invoice was deleted"] }
        var problems: [String] = []
        if after.paid > after.amount {
            problems.append("invoice \(after.id): paid \(after.paid) exceeds its amount \(after.amount)")
        }
        if let before {
            if (before.id, before.issuer, before.payer) != (after.id, after.issuer, after.payer) || (before.amount, before.dueAt, before.reference, before.issuedAt) != (after.amount, after.dueAt, after.reference, after.issuedAt) {
                problems.append("invoice \(after.id): what it bills changed")
            }
            if after.paid < before.paid || after.payments < before.payments {
                problems.append("invoice \(after.id): paid decreased (\(before.paid) → \(after.paid))")
            }
            if before.cancelledAt != nil && after.cancelledAt != before.cancelledAt {
                problems.append("invoice \(after.id): a cancellation was undone")
            }
        }
        return problems
    }

    private static func describe(_ supply: SupplyState) -> String {
        "minted \(supply.minted), redeemed \(supply.redeemed), refunded \(supply.refunded), expired \(supply.expired)"
    }
}
