public import KizunaCore

/// Premium sales, charge channels from genesis and event bonuses (issue 18,
/// docs/ledger-rules.md "Premium on charge" and "Event bonuses and charge channels").
extension Ledger {
    /// The largest premium rate a sale may set: 1000% (cities fund premiums far above 5%).
    static let premiumBasisPointsMax: UInt32 = 100_000

    /// `set_premium`: the issuer of a point program makes it a premium sale.
    func setPremium(_ body: SetPremium, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        let program = try issuedProgram(body.program, signer: signer, overlay: overlay)
        guard program.definition.asset == .point else {
            throw TransactionError(.invalidPremium, "a premium is minted as points; program \(body.program) grants \(program.definition.asset.name)")
        }
        let rule = body.rule
        guard rule.unitYen > 0 else { throw TransactionError(.invalidPremium, "the charge unit must be at least ¥1") }
        guard (rule.premiumPerUnitYen > 0) != (rule.basisPoints > 0) else {
            throw TransactionError(.invalidPremium, "give either a fixed premium per unit or a rate, not both and not neither")
        }
        let tenUnits = rule.unitYen.multipliedReportingOverflow(by: 10)
        guard rule.basisPoints <= Ledger.premiumBasisPointsMax, tenUnits.overflow || rule.premiumPerUnitYen <= tenUnits.partialValue else {
            throw TransactionError(.invalidPremium, "a premium may be at most ten times the paid value")
        }
        var state = try overlay.premium(body.program) ?? PremiumState(rule: rule)
        state.rule = rule
        overlay.set(StateKey.premium(body.program), state.canonicalBytes)
    }

    /// `charge_extended`: a charge on a genesis channel, optionally buying into a premium sale.
    func chargeExtended(_ body: ChargeExtended, signer: PublicKey, id: Hash, context: BlockContext, overlay: inout StateOverlay) throws {
        guard let channel = genesis.chargeChannel(body.channel) else {
            let known = genesis.effectiveChargeChannels.map { "\($0.id) \($0.name)" }.joined(separator: ", ")
            throw TransactionError(.unknownChannel, "channel \(body.channel) is not defined in this chain's genesis (channels: \(known))")
        }
        try chargeCoins(to: body.to, amount: body.amount, channel: channel, receiptId: body.receiptId, premiumProgram: body.premiumProgram, signer: signer, id: id, context: context, overlay: &overlay)
    }

    /// The premium of a charge that names `programId`: checked against the program like a
    /// grant (open, in its period, use-by date not past, budget, per-resident cap, holder
    /// cap) and minted; refused — with the whole charge — when it does not fit, so a resident
    /// never pays for a premium they do not get.
    func mintPremium(_ programId: UInt64, on amount: Amount, to key: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard let program = try overlay.program(programId) else { throw TransactionError(.unknownProgram, "there is no program \(programId)") }
        guard var state = try overlay.premium(programId) else {
            throw TransactionError(.notPremiumProgram, "program \(programId) ('\(program.definition.name)') is not a premium sale")
        }
        try checkProgramApplies(programId, context: context, overlay: overlay)
        guard LedgerCalendar.expiry(program.definition.expiry, from: context.timestamp) > context.timestamp else {
            throw TransactionError(.programNotActive, "program \(programId)'s use-by date is past")
        }
        guard let account = try overlay.account(key), account.role.holdsResidentValue else {
            throw TransactionError(.wrongRole, "a premium sale is for residents (or their cards) only")
        }
        guard let premium = state.rule.premium(on: amount), premium > 0 else {
            throw TransactionError(.invalidAmount, "¥\(amount) is less than one premium unit of ¥\(state.rule.unitYen)")
        }
        guard premium <= program.remaining else {
            throw TransactionError(.programBudgetExhausted, "the sale has ¥\(program.remaining) of premium left, this charge needs ¥\(premium)")
        }
        let already = try overlay.amount(StateKey.programResident(programId, key))
        guard let total = already.adding(premium), total <= program.definition.perResidentCapYen else {
            throw TransactionError(.perResidentCapExceeded, "the resident already received ¥\(already) of premium; the sale's per-resident cap is ¥\(program.definition.perResidentCapYen)")
        }
        guard let balance = account.point.adding(premium), balance <= genesis.point.holderCapYen else {
            throw TransactionError(.holderCapExceeded, "the premium would bring the resident's points over the cap of \(genesis.point.holderCapYen)")
        }
        try mint(program: programId, to: key, amount: premium, context: context, overlay: &overlay)
        state.charges += 1
        state.paidYen += amount
        state.premiumYen += premium
        overlay.set(StateKey.premium(programId), state.canonicalBytes)
    }

    /// `set_event_bonus`: the issuer of a point program makes it grant automatically on a
    /// resident's first charge or first payment.
    func setEventBonus(_ body: SetEventBonus, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        let program = try issuedProgram(body.program, signer: signer, overlay: overlay)
        guard program.definition.asset == .point else {
            throw TransactionError(.invalidEventBonus, "an event bonus is points; program \(body.program) grants \(program.definition.asset.name)")
        }
        guard body.amountYen <= program.definition.perResidentCapYen else {
            throw TransactionError(.invalidEventBonus, "the bonus of \(body.amountYen) is over the program's per-resident cap of \(program.definition.perResidentCapYen)")
        }
        // A program has at most one bonus: it leaves every event's list, then joins its event's.
        for event in BonusEvent.allCases {
            var bonuses = try overlay.eventBonuses(event)
            let before = bonuses.count
            bonuses.removeAll { $0.program == body.program }
            if event == body.event && body.amountYen > 0 {
                bonuses.insert(body, at: bonuses.firstIndex { $0.program > body.program } ?? bonuses.endIndex)
            } else if bonuses.count == before {
                continue
            }
            overlay.set(StateKey.eventBonuses(event), bonuses.isEmpty ? nil : EventBonusList(bonuses: bonuses).canonicalBytes)
        }
    }

    /// The event bonuses `event` earns `key`: for each program with such a bonus, in id
    /// order, that applies now and has granted the resident nothing yet, the bonus trimmed
    /// (never refused) to the budget, the per-resident cap and the holder cap.
    func applyEventBonuses(_ event: BonusEvent, to key: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        for bonus in try overlay.eventBonuses(event) {
            let id = bonus.program
            // Most payments and charges are not a resident's first: that read decides them.
            guard try overlay.amount(StateKey.programResident(id, key)) == 0, let program = try overlay.program(id) else { continue }
            if let terms = try overlay.programTerms(id), !terms.applies(at: context.timestamp) { continue }
            guard LedgerCalendar.expiry(program.definition.expiry, from: context.timestamp) > context.timestamp else { continue }
            guard let account = try overlay.account(key) else { continue }
            let amount = min(bonus.amountYen, program.remaining, program.definition.perResidentCapYen, genesis.point.holderCapYen.subtracting(account.point) ?? 0)
            guard amount > 0 else { continue }
            try mint(program: id, to: key, amount: amount, context: context, overlay: &overlay)
        }
    }
}
