public import KizunaCore

/// Card accounts (issue 19, `docs/cards.md`, `docs/ledger-rules.md` "Cards"): a resident's card
/// whose key the custodian service holds. The ledger bounds what a card can do whoever signs
/// for it: it pays merchants only (`pay`, and `pay_authorised` as the payer), within the genesis
/// `CardPolicy`'s per-payment and per-day caps, and holds at most the card holder cap in coins.

extension StateKey {
    static let cardDay: UInt8 = 0x1B

    /// `0x1B ‖ card key` → `CardDayState`: what the card paid on its last day of payments.
    /// One record per card, overwritten on a new day, so the state does not grow with days.
    public static func cardDay(_ card: PublicKey) -> [UInt8] { [cardDay] + card.bytes }
}

/// A card's spending on one Japan-time calendar day (the per-day cap's counter).
public struct CardDayState: Sendable, Hashable, CanonicalCodable {
    /// The Japan-time day (yyyymmdd) of the card's last payment.
    public var day: UInt32
    /// What the card paid that day.
    public var spent: Amount

    public init(day: UInt32, spent: Amount) {
        self.day = day
        self.spent = spent
    }

    /// What the card has paid on `day`.
    public func spent(onDay day: UInt32) -> Amount { self.day == day ? spent : 0 }

    public func encode(to encoder: inout Encoder) { encoder.encode(day, spent) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        day = try decoder.decodeUInt32()
        spent = try decoder.decodeUInt64()
    }
}

extension Ledger {
    /// The checks a card's `register` passes beyond a resident's: the chain has a card policy,
    /// and the card names the resident it belongs to (the resident-ID hash, whose
    /// one-resident-one-account rule then covers the resident's phone account and card alike).
    func checkCardRegistration(_ body: Register) throws {
        guard genesis.cardPolicy != nil else {
            throw TransactionError(.cardNotEnabled, "this chain's genesis has no cardPolicy, so it registers no card; a new genesis with a cardPolicy enables cards")
        }
        guard body.residentIdHash != nil else {
            throw TransactionError(.cardNeedsResidentId, "a card needs the resident-ID hash of the resident it belongs to (one resident, one account)")
        }
    }

    /// The most coins an account of `role` may hold, and the code of a refusal over it.
    func coinHolderCap(_ role: Role) -> (cap: Amount, code: TransactionErrorCode) {
        if role == .card, let policy = genesis.cardPolicy { return (policy.holderCapYen, .cardHolderCapExceeded) }
        return (genesis.coin.holderCapYen, .holderCapExceeded)
    }

    /// A card's payment of `amount`: within the per-payment cap and the card's day. Counts
    /// the amount against the day (the caller's payment then moves the value).
    func spendFromCard(_ card: PublicKey, amount: Amount, context: BlockContext, overlay: inout StateOverlay) throws {
        guard let policy = genesis.cardPolicy else {
            throw LedgerInconsistency("card \(card.address) exists on a chain without a card policy")
        }
        guard amount <= policy.perPaymentCapYen else {
            throw TransactionError(.cardPaymentCapExceeded, "¥\(amount) is over a card's per-payment cap of ¥\(policy.perPaymentCapYen)")
        }
        let today = LedgerCalendar.japanDayAndHour(context.timestamp).day
        let key = StateKey.cardDay(card)
        let record = try overlay.get(key).map { try CardDayState(storedBytes: $0) }
        let already = record?.spent(onDay: today) ?? 0
        guard let total = already.adding(amount), total <= policy.perDayCapYen else {
            throw TransactionError(.cardDailyCapExceeded, "the card paid ¥\(already) today; ¥\(amount) more is over its per-day cap of ¥\(policy.perDayCapYen)")
        }
        overlay.set(key, CardDayState(day: today, spent: total).canonicalBytes)
    }

    /// On recovery of a card, the day's spending follows it to the new card, so a recovery
    /// never resets the per-day cap.
    func moveCardDay(from old: PublicKey, to new: PublicKey, overlay: inout StateOverlay) throws {
        guard let bytes = try overlay.get(StateKey.cardDay(old)) else { return }
        overlay.set(StateKey.cardDay(old), nil)
        overlay.set(StateKey.cardDay(new), bytes)
    }
}

extension BlockInvariants {
    /// The card rules checked from a block's own writes (`docs/ledger-rules.md`, "Invariants
    /// checked after every block"): every card account the block wrote holds at most the card
    /// holder cap in coins, and every card-day record it wrote is within the per-day cap and
    /// never goes back to an earlier day. Pure, in the order of `changes`.
    public static func cardViolations(_ changes: [Change], policy: CardPolicy?) -> [String] {
        var problems: [String] = []
        for change in changes {
            guard let prefix = change.key.first, prefix == StateKey.account || prefix == StateKey.cardDay, let after = change.after else { continue }
            do {
                if prefix == StateKey.account {
                    let account = try AccountState(storedBytes: after)
                    guard account.role == .card else { continue }
                    guard let policy else {
                        problems.append("state key \(change.key.hexString): a card account on a chain without a card policy")
                        continue
                    }
                    if account.coin > policy.holderCapYen {
                        problems.append("card \(change.key.dropFirst().hexString): holds ¥\(account.coin) coins, over the card holder cap ¥\(policy.holderCapYen)")
                    }
                } else {
                    let record = try CardDayState(storedBytes: after)
                    if let policy, record.spent > policy.perDayCapYen {
                        problems.append("card \(change.key.dropFirst().hexString): paid ¥\(record.spent) on \(record.day), over the per-day cap ¥\(policy.perDayCapYen)")
                    }
                    if let before = try change.before.map({ try CardDayState(storedBytes: $0) }), record.day < before.day || (record.day == before.day && record.spent < before.spent) {
                        problems.append("card \(change.key.dropFirst().hexString): its day record went back (\(before.day) ¥\(before.spent) → \(record.day) ¥\(record.spent))")
                    }
                }
            } catch {
                problems.append("state key \(change.key.hexString) does not decode: \(error)")
            }
        }
        return problems
    }
}
