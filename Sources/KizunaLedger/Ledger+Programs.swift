public import KizunaCore

extension Ledger {
    /// `create-program`: the city or the coin issuer creates a points or thanks program.
    func createProgram(_ body: CreateProgram, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard signer == genesis.authorities.city || signer == genesis.authorities.coinIssuer else {
            throw TransactionError(.notAuthorised, "only the city or the coin issuer may create programs")
        }
        guard body.asset != .coin else {
            throw TransactionError(.invalidProgram, "programs grant free value (point or thanks); coins are only charged")
        }
        guard !body.name.isEmpty else { throw TransactionError(.invalidProgram, "a program needs a name") }
        guard body.budgetYen > 0 else { throw TransactionError(.invalidProgram, "the budget must be at least ¥1") }
        guard body.perResidentCapYen > 0 else { throw TransactionError(.invalidProgram, "the per-resident cap must be at least ¥1") }
        guard body.expiry.kind != .endOfMonthAfterLastChange else {
            throw TransactionError(.invalidProgram, "lots expire by grant date (endOfMonthAfterGrant), on a fixed use-by date (useByDate) or never")
        }
        if body.expiry.kind == .useByDate {
            guard body.expiry.useByDay != nil else {
                throw TransactionError(.invalidProgram, "the use-by date \(body.expiry.months) is not a calendar date (yyyymmdd)")
            }
            guard LedgerCalendar.expiry(body.expiry, from: context.timestamp) > context.timestamp else {
                throw TransactionError(.invalidProgram, "the use-by date \(body.expiry.months) is already past")
            }
        } else {
            guard body.expiry.kind == .never || (1...1200).contains(body.expiry.months) else {
                throw TransactionError(.invalidProgram, "expiry months must be 1–1200")
            }
        }
        if let rebate = body.rebate {
            guard body.asset == .point else { throw TransactionError(.invalidProgram, "only point programs give rebates") }
            guard !rebate.rates.isEmpty, rebate.rates.allSatisfy({ $0.basisPoints > 0 && $0.basisPoints <= 10_000 && !$0.merchantCategory.isEmpty }) else {
                throw TransactionError(.invalidProgram, "rebate rates must name a category and be 1–10000 basis points")
            }
            for index in rebate.rates.indices.dropFirst() where !(rebate.rates[index - 1].merchantCategory < rebate.rates[index].merchantCategory) {
                throw TransactionError(.invalidProgram, "rebate categories must be distinct")
            }
            guard rebate.monthlyCapPerResidentYen > 0 else { throw TransactionError(.invalidProgram, "the rebate's monthly cap must be at least ¥1") }
        }
        guard try overlay.account(body.funder) != nil else {
            throw TransactionError(.unknownAccount, "the funder \(body.funder.address) is not registered")
        }
        let id = try overlay.amount(StateKey.nextProgramIdKey)
        overlay.setAmount(StateKey.nextProgramIdKey, id + 1)
        overlay.setProgram(ProgramState(id: id, definition: body, issuer: signer, createdAt: context.timestamp))
        if body.rebate != nil {
            var ids = try overlay.rebatePrograms()
            ids.append(id)
            overlay.set(StateKey.rebateProgramsKey, ProgramIdList(ids: ids).canonicalBytes)
        }
    }

    /// `grant`: the program's issuer, or one of its delegates, grants points or thanks to a
    /// resident.
    func grant(_ body: Grant, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard let program = try overlay.program(body.program) else {
            throw TransactionError(.unknownProgram, "there is no program \(body.program)")
        }
        guard body.program != Ledger.chargeBonusProgram else {
            throw TransactionError(.notAuthorised, "the charge-bonus program grants only through charges")
        }
        // The signer's appointment, read once: nil for the issuer.
        let appointment = signer == program.issuer ? nil : try overlay.delegate(body.program, signer)
        guard signer == program.issuer || appointment != nil else {
            throw TransactionError(.notAuthorised, "only the program's issuer or its delegates may grant from program \(body.program)")
        }
        try checkProgramApplies(body.program, context: context, overlay: overlay)
        guard LedgerCalendar.expiry(program.definition.expiry, from: context.calendarTime) > context.calendarTime else {
            throw TransactionError(.programNotActive, "program \(body.program)'s use-by date \(program.definition.expiry.months) is past: its lots would already be expired")
        }
        // A delegate's record, updated for this grant; written only once every check passed.
        let delegateState = try appointment.map { try delegateGrant(body, delegate: signer, appointment: $0, context: context, overlay: overlay) }
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "a grant must be at least 1") }
        guard let recipient = try overlay.account(body.to) else {
            throw TransactionError(.unknownAccount, "\(body.to.address) is not registered")
        }
        guard recipient.role.holdsResidentValue else { throw TransactionError(.wrongRole, "grants go to residents (or their cards) only") }
        guard !recipient.frozen else { throw TransactionError(.frozen, "the recipient's account is frozen") }
        guard body.amount <= program.remaining else {
            throw TransactionError(.programBudgetExhausted, "program \(body.program) has ¥\(program.remaining) of its budget left, the grant asks for \(body.amount)")
        }
        let already = try overlay.amount(StateKey.programResident(body.program, body.to))
        guard let total = already.adding(body.amount), total <= program.definition.perResidentCapYen else {
            throw TransactionError(.perResidentCapExceeded, "the resident already received \(already) of the program's per-resident cap of \(program.definition.perResidentCapYen)")
        }
        let asset = program.definition.asset
        guard let balance = recipient.balance(asset).adding(body.amount), balance <= genesis.policy(for: asset).holderCapYen else {
            throw TransactionError(.holderCapExceeded, "the grant would bring the resident's \(asset.name) to over the cap of \(genesis.policy(for: asset).holderCapYen)")
        }
        try mint(program: body.program, to: body.to, amount: body.amount, context: context, overlay: &overlay)
        if let delegateState {
            overlay.setDelegate(body.program, signer, delegateState)
            try overlay.addAmount(StateKey.delegateResident(body.program, signer, body.to), body.amount)
        }
    }

    /// Creates a lot from a program for an account: the program's granted total, the
    /// per-resident total, the asset's supply and the account's balance move together.
    /// Callers check budget, caps and roles first.
    func mint(program id: UInt64, to key: PublicKey, amount: Amount, context: BlockContext, overlay: inout StateOverlay) throws {
        guard var program = try overlay.program(id), var account = try overlay.account(key) else {
            throw LedgerInconsistency("minting from program \(id) to \(key.address)")
        }
        let asset = program.definition.asset
        let held = try overlay.lots(key, asset)
        var lots = held
        try lots.add(Lot(program: id, funder: program.definition.funder, amount: amount, grantedAt: context.stampTime, expiresAt: LedgerCalendar.expiry(program.definition.expiry, from: context.calendarTime)))
        overlay.setLots(key, asset, lots, replacing: held)
        account.setBalance(asset, account.balance(asset) + amount)
        overlay.setAccount(key, account)
        program.granted += amount
        overlay.setProgram(program)
        try overlay.addAmount(StateKey.programResident(id, key), amount)
        var supply = try overlay.supply(asset)
        guard let minted = supply.minted.adding(amount) else { throw TransactionError(.overflow, "\(asset.name) supply overflows") }
        supply.minted = minted
        overlay.setSupply(asset, supply)
    }
}
