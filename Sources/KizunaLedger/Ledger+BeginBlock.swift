public import KizunaCore
public import KizunaStorage

extension Ledger {
    /// What runs at the start of every block, before its transactions: base-date snapshots
    /// for the statutory report, then expiry of lots and coins due at the block time.
    ///
    /// Both read only the committed store's indexes (nothing of this block is pending yet),
    /// and both cost in proportion to what is due, never to the number of lots or accounts.
    func beginBlock(context: BlockContext, store: any KeyValueStore, overlay: inout StateOverlay) throws {
        // Crossing one or more base dates (31 March, 30 September): record the coins
        // outstanding at the end of each. No block lies between the previous block and this
        // one, so the state before this block is the state at the end of those days.
        // The state keeps the current base period, so an ordinary block writes nothing here.
        var period = UInt32(try overlay.amount(StateKey.currentBasePeriodKey))
        let current = LedgerCalendar.basePeriod(context.timestamp)
        if period < current {
            while period < current {
                // First expire what was due by the end of the base date (coins and lots can
                // expire between the last block and the base date), then record.
                let date = LedgerCalendar.baseDate(closing: period)
                let endOfBaseDate = LedgerCalendar.startOfMonth(year: date.year, monthIndexFromZero: date.month)
                try expireLots(at: endOfBaseDate - 1, store: store, overlay: &overlay)
                try expireCoins(at: endOfBaseDate - 1, store: store, overlay: &overlay)
                // Written even when 0 (not `setAmount`): the entry is what closes the base date.
                overlay.set(StateKey.baseDateUnused(period), (try overlay.supply(.coin).outstanding ?? 0).canonicalBytes)
                period += 1
            }
            overlay.setAmount(StateKey.currentBasePeriodKey, UInt64(current))
        }
        try expireLots(at: context.timestamp, store: store, overlay: &overlay)
        try expireCoins(at: context.timestamp, store: store, overlay: &overlay)
        try pruneUsedAuthorisations(at: context.timestamp, store: store, overlay: &overlay)
    }

    /// Deletes the records of settled customer-presented authorisations that expired at or
    /// before `time`: from this block on the ledger refuses them as expired, so the record
    /// that refuses them as reused is no longer needed (block times never go back).
    private func pruneUsedAuthorisations(at time: UInt64, store: any KeyValueStore, overlay: inout StateOverlay) throws {
        let prefix = [StateKey.authorisationExpiryPrefix]
        var due: [(indexKey: [UInt8], recordKey: [UInt8])] = []
        try store.scan(.state, from: prefix, prefix: prefix) { key, _ in
            var decoder = Decoder(key)
            _ = try decoder.decodeUInt8()
            let expiresAt = try decoder.decodeUInt64()
            guard expiresAt <= time else { return false }
            let payer = try decoder.decode(PublicKey.self)
            let nonce = try decoder.decodeFixed(PaymentAuthorisation.nonceBytes)
            due.append((key, StateKey.usedAuthorisation(payer, nonce)))
            return true
        }
        for entry in due {
            overlay.set(entry.indexKey, nil)
            overlay.set(entry.recordKey, nil)
        }
    }

    /// Removes every lot due at or before `time`, found through the expiry index.
    private func expireLots(at time: UInt64, store: any KeyValueStore, overlay: inout StateOverlay) throws {
        var due: [(key: PublicKey, asset: Asset, indexKey: [UInt8])] = []
        try store.scan(.state, from: [StateKey.lotExpiryPrefix], prefix: [StateKey.lotExpiryPrefix]) { key, _ in
            var decoder = Decoder(key)
            _ = try decoder.decodeUInt8()
            let expiresAt = try decoder.decodeUInt64()
            guard expiresAt <= time else { return false }
            due.append((try decoder.decode(PublicKey.self), try decoder.decode(Asset.self), key))
            return true
        }
        for entry in due {
            overlay.set(entry.indexKey, nil)
            let held = try overlay.lots(entry.key, entry.asset)
            var lots = held
            let expired = lots.removeExpired(at: time)
            guard !expired.isEmpty else { continue }
            overlay.setLots(entry.key, entry.asset, lots, replacing: held)
            guard var account = try overlay.account(entry.key) else { throw LedgerInconsistency("lots of an unregistered account") }
            let total = expired.reduce(0) { $0 + $1.amount }
            account.setBalance(entry.asset, account.balance(entry.asset) - total)
            overlay.setAccount(entry.key, account)
            var supply = try overlay.supply(entry.asset)
            supply.expired += total
            overlay.setSupply(entry.asset, supply)
            for lot in expired {
                guard var program = try overlay.program(lot.program) else { throw LedgerInconsistency("a lot of unknown program \(lot.program)") }
                program.expired += lot.amount
                overlay.setProgram(program)
            }
        }
    }

    /// Expires residents' coins whose last change is older than the coin policy allows.
    private func expireCoins(at time: UInt64, store: any KeyValueStore, overlay: inout StateOverlay) throws {
        guard genesis.coin.expiry.kind == .endOfMonthAfterLastChange else { return }
        var due: [(key: PublicKey, indexKey: [UInt8])] = []
        try store.scan(.state, from: [StateKey.coinExpiryPrefix], prefix: [StateKey.coinExpiryPrefix]) { key, _ in
            var decoder = Decoder(key)
            _ = try decoder.decodeUInt8()
            guard try decoder.decodeUInt64() <= time else { return false }
            due.append((try decoder.decode(PublicKey.self), key))
            return true
        }
        for entry in due {
            overlay.set(entry.indexKey, nil)
            guard var account = try overlay.account(entry.key), account.coin > 0 else { continue }
            var supply = try overlay.supply(.coin)
            supply.expired += account.coin
            overlay.setSupply(.coin, supply)
            account.coin = 0
            overlay.setAccount(entry.key, account)
        }
    }
}

/// Committed state that breaks the ledger's own invariants: the store is corrupt. Never a
/// transaction's fault, so it is not a `TransactionError`.
public typealias LedgerInconsistency = CodedError<LedgerInconsistencyCode>

public enum LedgerInconsistencyCode: String, ErrorCode {
    case inconsistentState = "ledger.inconsistent_state"
}

extension CodedError where Codes == LedgerInconsistencyCode {
    /// The one code of a corrupt store; the message says what does not add up.
    public init(_ message: String) { self.init(.inconsistentState, message) }
}
