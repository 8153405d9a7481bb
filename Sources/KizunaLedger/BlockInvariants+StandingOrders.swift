public import KizunaCore

/// The per-block invariant of standing orders (issue 18, ADR 0021; docs/ledger-rules.md
/// "Invariants checked after every block"), from the block's writes to `0x2A` (orders) and
/// `0x2B` (each payer's index of its orders):
/// - an order is never deleted, and what the payer authorised (payer, payee, cap, purpose,
///   reference, schedule, time of authorisation) never changes;
/// - its counters never decrease; each instalment of the block is ¥1 to the cap
///   (Δpaid ≤ ΔpaidYen ≤ Δpaid × cap), and over its life paidYen ≤ paid × cap;
/// - a limited schedule pays at most its count; the last instalment was not paid before it was
///   due (lastPaidAt ≥ dueAt(paid − 1));
/// - a cancellation stays, and nothing is collected on an order cancelled before the block;
/// - a new order is in its payer's index in the same block, and no index entry is deleted.
extension BlockInvariants {
    static func isStandingOrderKey(_ prefix: UInt8) -> Bool {
        prefix == StateKey.standingOrderPrefix || prefix == StateKey.payerStandingOrderPrefix
    }

    /// What the block's writes of standing orders break, one line each (empty: nothing).
    public static func standingOrderViolations(_ changes: [Change]) -> [String] {
        var problems: [String] = []
        var indexed: Set<[UInt8]> = []
        var created: [StandingOrderState] = []
        for change in changes {
            switch change.key.first {
            case StateKey.payerStandingOrderPrefix:
                if change.after == nil {
                    problems.append("state key \(change.key.hexString): a payer's standing-order index entry was deleted")
                } else {
                    indexed.insert(change.key)
                }
            case StateKey.standingOrderPrefix:
                let before: StandingOrderState?
                let after: StandingOrderState
                do {
                    before = try change.before.map { try StandingOrderState(storedBytes: $0) }
                    guard let written = change.after else {
                        problems.append("state key \(change.key.hexString): a standing order was deleted")
                        continue
                    }
                    after = try StandingOrderState(storedBytes: written)
                } catch {
                    problems.append("state key \(change.key.hexString) does not decode as StandingOrderState: \(error)")
                    continue
                }
                if before == nil { created.append(after) }
                problems.append(contentsOf: orderViolations(before: before, after: after))
            default:
                continue
            }
        }
        for order in created where !indexed.contains(StateKey.payerStandingOrder(order.payer, order.id)) {
            problems.append("standing order \(order.id.hex): created without its payer's index entry")
        }
        return problems
    }

    static func orderViolations(before: StandingOrderState?, after: StandingOrderState) -> [String] {
        let name = "standing order \(after.id.hex)"
        var problems: [String] = []
        let cap = UInt128(after.terms.capYen)
        if UInt128(after.paidYen) > UInt128(after.paid) * cap {
            problems.append("\(name): \(after.paid) instalments collected ¥\(after.paidYen), over \(after.paid) × the ¥\(after.terms.capYen) cap")
        }
        if after.terms.schedule.instalments > 0 && after.paid > after.terms.schedule.instalments {
            problems.append("\(name): \(after.paid) instalments paid of a schedule of \(after.terms.schedule.instalments)")
        }
        if after.paid > 0, let last = after.lastPaidAt, last < after.dueAt(after.paid - 1) {
            problems.append("\(name): instalment \(after.paid) was paid at \(last), before it was due at \(after.dueAt(after.paid - 1))")
        }
        let (paidBefore, yenBefore) = (before?.paid ?? 0, before?.paidYen ?? 0)
        guard after.paid >= paidBefore, after.paidYen >= yenBefore else {
            return problems + ["\(name): a counter decreased (paid \(paidBefore) → \(after.paid), ¥\(yenBefore) → ¥\(after.paidYen))"]
        }
        let (instalments, collected) = (UInt128(after.paid - paidBefore), UInt128(after.paidYen - yenBefore))
        if collected < instalments || collected > instalments * cap {
            problems.append("\(name): \(instalments) instalments in the block collected ¥\(collected), outside ¥1 to the ¥\(after.terms.capYen) cap each")
        }
        guard let before else { return problems }
        if (before.id, before.payer, before.terms, before.authorisedAt) != (after.id, after.payer, after.terms, after.authorisedAt) {
            problems.append("\(name): what the payer authorised changed")
        }
        if let cancelled = before.cancelledAt {
            if after.cancelledAt != cancelled { problems.append("\(name): a cancellation was undone") }
            if instalments > 0 { problems.append("\(name): \(instalments) instalments collected after its cancellation") }
        }
        return problems
    }
}
