public import KizunaCore

extension Ledger {
    /// `refund`: the coin issuer pays a holder's coins back in yen. Reasons the Payment
    /// Services Act exempts (moving away, death, service termination) are unlimited; any
    /// other reason counts against the base period's limit: the greater of 20% of the coins
    /// issued in the previous base period and 5% of the unused balance at the previous base
    /// date.
    func refund(_ body: Refund, transaction: VerifiedTransaction, context: BlockContext, overlay: inout StateOverlay) throws {
        let signer = transaction.transaction.signer
        guard signer == genesis.authorities.coinIssuer else {
            throw TransactionError(.notAuthorised, "only the coin issuer may refund")
        }
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "a refund must be at least ¥1") }
        guard var account = try overlay.account(body.account) else {
            throw TransactionError(.unknownAccount, "\(body.account.address) is not registered")
        }
        guard account.role.holdsResidentValue || account.role == .visitor else { throw TransactionError(.wrongRole, "refunds are for residents' (and cards' and visitors') coins; merchants redeem") }
        guard account.coin >= body.amount else {
            throw TransactionError(.insufficientBalance, "the account holds ¥\(account.coin), less than ¥\(body.amount)")
        }
        // An exempt reason escapes the statutory limit, so the coin issuer alone cannot use it:
        // the city attests the move, the death or the end of the service (issue 18).
        if body.reason.isExempt && !transaction.signers.contains(genesis.authorities.city) {
            throw TransactionError(.missingCosignature, "a refund for '\(body.reason.name)' is exempt from the statutory limit and needs the city's co-signature")
        }
        let period = LedgerCalendar.basePeriod(context.timestamp)
        if !body.reason.isExempt {
            let limit = try refundLimit(period: period, overlay: overlay)
            let refunded = try overlay.amount(StateKey.periodRefunded(period))
            guard let total = refunded.adding(body.amount), total <= limit else {
                throw TransactionError(.refundLimitExceeded, "¥\(refunded) already refunded this base period; ¥\(body.amount) more exceeds the statutory limit of ¥\(limit) (reason '\(body.reason.name)' is not exempt)")
            }
            overlay.setAmount(StateKey.periodRefunded(period), total)
        }
        overlay.setCoin(body.account, &account, to: account.coin - body.amount, at: context.timestamp, rule: genesis.coin.expiry)
        overlay.setAccount(body.account, account)
        var supply = try overlay.supply(.coin)
        supply.refunded += body.amount
        overlay.setSupply(.coin, supply)
    }

    /// The most that may be refunded for non-exempt reasons in `period`.
    public func refundLimit(period: UInt32, overlay: StateOverlay) throws -> Amount {
        let previousIssuance = try overlay.amount(StateKey.periodMinted(period - 1))
        let previousUnused = try overlay.amount(StateKey.baseDateUnused(period - 1))
        return max(previousIssuance / 5, previousUnused / 20)
    }

    /// `freeze` / `unfreeze`: the registrar stops or restarts an account.
    func setFrozen(_ body: AccountAction, frozen: Bool, signer: PublicKey, overlay: inout StateOverlay) throws {
        guard signer == genesis.authorities.registrar else {
            throw TransactionError(.notAuthorised, "only the registrar may freeze or unfreeze accounts")
        }
        guard var account = try overlay.account(body.account) else {
            throw TransactionError(.unknownAccount, "\(body.account.address) is not registered")
        }
        guard account.role != .authority else { throw TransactionError(.wrongRole, "authority accounts cannot be frozen") }
        guard account.successor == nil else { throw TransactionError(.wrongRole, "the account was recovered to \(account.successor!.address)") }
        if frozen {
            guard !account.frozen else { throw TransactionError(.frozen, "the account is already frozen") }
        } else {
            guard account.frozen else { throw TransactionError(.notFrozen, "the account is not frozen") }
        }
        account.frozen = frozen
        overlay.setAccount(body.account, account)
    }

    /// `recover`: moves every balance, lot and receivable of a frozen account to a new key,
    /// with the same role and attributes. Needs the registrar's signature and the city's
    /// co-signature. The old account stays frozen, empty, and names its successor.
    func recover(_ body: Recover, transaction: VerifiedTransaction, context: BlockContext, overlay: inout StateOverlay) throws {
        guard transaction.transaction.signer == genesis.authorities.registrar else {
            throw TransactionError(.notAuthorised, "recovery is signed by the registrar")
        }
        guard transaction.signers.contains(genesis.authorities.city) else {
            throw TransactionError(.missingCosignature, "recovery needs the city's co-signature as well as the registrar's")
        }
        guard body.from != body.to else { throw TransactionError(.selfTransfer, "the new key must differ from the old one") }
        guard var old = try overlay.account(body.from) else {
            throw TransactionError(.unknownAccount, "\(body.from.address) is not registered")
        }
        guard old.role != .authority else { throw TransactionError(.wrongRole, "authority accounts are replaced in genesis, not recovered") }
        guard old.role != .delegate else { throw TransactionError(.wrongRole, "a delegate's key is replaced by appointing a new key, not recovered") }
        guard old.frozen, old.successor == nil else {
            throw TransactionError(.notFrozen, "only a frozen account can be recovered (freeze it first)")
        }
        guard try overlay.account(body.to) == nil else {
            throw TransactionError(.accountExists, "\(body.to.address) is already registered")
        }
        guard !genesis.validators.validators.contains(where: { $0.publicKey == body.to }),
              !genesis.authorities.all.contains(where: { $0.key == body.to }) else {
            throw TransactionError(.wrongRole, "validator and authority keys cannot hold value")
        }
        var new = AccountState(role: old.role, registeredAt: context.timestamp)
        new.merchantCategory = old.merchantCategory
        new.residentIdHash = old.residentIdHash
        new.district = old.district
        new.ageBand = old.ageBand
        if let residentIdHash = old.residentIdHash {
            overlay.set(StateKey.residentId(residentIdHash), body.to.bytes)
        }
        // Coins keep their expiry clock: recovery is not a balance change by the holder.
        let coin = old.coin
        let changedAt = old.coinChangedAt
        overlay.setCoin(body.from, &old, to: 0, at: context.timestamp, rule: genesis.coin.expiry)
        overlay.setCoin(body.to, &new, to: coin, at: changedAt, rule: genesis.coin.expiry)
        for asset in [Asset.point, .thanks] {
            let lots = try overlay.lots(body.from, asset)
            overlay.setLots(body.from, asset, LotList(), replacing: lots)
            try overlay.setLots(body.to, asset, lots)
            new.setBalance(asset, old.balance(asset))
            old.setBalance(asset, 0)
        }
        // A merchant's unredeemed receivables move too.
        let prefix = [StateKey.receivablePrefix] + body.from.bytes
        for funder in try overlay.receivableFunders(prefix: prefix) {
            let amount = try overlay.amount(StateKey.receivable(body.from, funder))
            overlay.setAmount(StateKey.receivable(body.from, funder), 0)
            try overlay.addAmount(StateKey.receivable(body.to, funder), amount)
        }
        // Per-resident program totals follow the resident, so a recovery never resets a cap.
        let programs = try overlay.amount(StateKey.nextProgramIdKey)
        for id in 0..<programs {
            let received = try overlay.amount(StateKey.programResident(id, body.from))
            guard received > 0 else { continue }
            overlay.setAmount(StateKey.programResident(id, body.from), 0)
            try overlay.addAmount(StateKey.programResident(id, body.to), received)
        }
        // This month's send and thanks totals and rebate totals follow too, so a recovery
        // never resets a monthly limit.
        let month = CivilTime.japanYearMonth(milliseconds: context.timestamp)
        for asset in [Asset.coin, .thanks] {
            let sent = try overlay.amount(StateKey.monthlySent(body.from, asset: asset, yearMonth: month))
            guard sent > 0 else { continue }
            overlay.setAmount(StateKey.monthlySent(body.from, asset: asset, yearMonth: month), 0)
            try overlay.addAmount(StateKey.monthlySent(body.to, asset: asset, yearMonth: month), sent)
        }
        for id in try overlay.rebatePrograms() {
            let rebated = try overlay.amount(StateKey.rebateMonth(id, body.from, month))
            guard rebated > 0 else { continue }
            overlay.setAmount(StateKey.rebateMonth(id, body.from, month), 0)
            try overlay.addAmount(StateKey.rebateMonth(id, body.to, month), rebated)
        }
        if old.role == .card { try moveCardDay(from: body.from, to: body.to, overlay: &overlay) }
        // A visitor's expiry and a withdrawn consent hold for the new key too (copied: the
        // old key's record still governs the aggregates of its past payments).
        for key in [StateKey.visitorExpiry, StateKey.consentWithdrawn] {
            guard let value = try overlay.get(key(body.from)) else { continue }
            overlay.set(key(body.to), value)
        }
        old.successor = body.to
        overlay.setAccount(body.from, old)
        overlay.setAccount(body.to, new)
    }
}
