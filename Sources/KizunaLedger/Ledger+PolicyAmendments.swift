public import KizunaCore
public import KizunaStorage

/// The last rules of issue 18 (ADR 0021): tiered rebates by a resident's monthly spend
/// (`set_rebate_tiers`), and charge channels and per-category redemption fees changed by
/// governance at a future height (proposal kinds 3 and 4).
extension StateKey {
    public static let rebateTiersPrefix: UInt8 = 0x2D
    public static let monthlySpendPrefix: UInt8 = 0x2E
    public static let townAmendmentsPrefix: UInt8 = 0x2F
    /// `0x2D` → `RebateTiersList`: every program's tiers, by program id. Absent while no
    /// program has tiers: then a payment keeps no monthly spend.
    public static let rebateTiersKey: [UInt8] = [rebateTiersPrefix]
    /// `0x2E ‖ public key ‖ yyyymm` → coins the resident paid at merchants in that Japan-time
    /// month, kept only while some program has tiers.
    public static func monthlySpend(_ key: PublicKey, _ yearMonth: UInt32) -> [UInt8] {
        encode { $0.encode(monthlySpendPrefix); $0.encodeFixed(key.bytes); $0.encode(yearMonth) }
    }
    /// `0x2F` → `TownAmendmentList`: every charge-channel and category-fee amendment
    /// (`GovernanceChange` of kind 3 or 4), by effective height then kind then asset.
    public static let townAmendmentsKey: [UInt8] = [townAmendmentsPrefix]
}

public typealias RebateTiersList = StoredList<SetRebateTiers>
public typealias TownAmendmentList = StoredList<GovernanceChange>

extension GovernanceChange {
    /// Puts a charge-channel or category-fee amendment into `rules` (the others are kept
    /// elsewhere: `0x23`, `0x24`).
    func apply(to rules: inout Genesis) {
        switch proposal {
        case .chargeChannels(let channels): rules.chargeChannels = channels
        case .categoryFees(let asset, let fees): rules.categoryFees[asset] = fees.isEmpty ? nil : fees
        case .validatorSet, .assetPolicy: break
        }
    }

    /// What a later amendment of the same thing replaces: the kind, and the asset for fees.
    var subject: [UInt8] {
        switch proposal {
        case .categoryFees(let asset, _): [proposal.kindNumber, asset.rawValue]
        default: [proposal.kindNumber]
        }
    }
}

extension StateOverlay {
    /// Every program's rebate tiers, by program id.
    public func rebateTiers() throws -> [SetRebateTiers] { try decoded(StateKey.rebateTiersKey, as: RebateTiersList.self)?.elements ?? [] }
}

extension Ledger {
    /// Every charge-channel and category-fee amendment the state in `store` records.
    public func townAmendments(store: any KeyValueStore) throws -> [GovernanceChange] {
        try StateOverlay(base: store).decoded(StateKey.townAmendmentsKey, as: TownAmendmentList.self)?.elements ?? []
    }

    /// `govern` of kind 3 (charge channels) or 4 (category fees), after the approvals are
    /// checked: the proposal's own rules, one pending amendment of a subject at a time.
    func amendTownRules(_ change: GovernanceChange, context: BlockContext, overlay: inout StateOverlay) throws {
        switch change.proposal {
        case .chargeChannels(let channels):
            if let problem = ChargeChannelDefinition.problem(channels) { throw TransactionError(.governanceInvalidProposal, problem) }
        case .categoryFees(let asset, let fees):
            guard asset != .thanks else {
                throw TransactionError(.governanceInvalidProposal, "categoryFees: thanks are never redeemed; a category fee is for coin or point")
            }
            if let problem = CategoryFee.problem(fees) { throw TransactionError(.governanceInvalidProposal, problem) }
        case .validatorSet, .assetPolicy:
            throw LedgerInconsistency("amendTownRules of a \(change.proposal.kind) proposal")
        }
        var amendments = try overlay.decoded(StateKey.townAmendmentsKey, as: TownAmendmentList.self)?.elements ?? []
        if let pending = amendments.first(where: { $0.subject == change.subject && $0.effectiveHeight > context.height }) {
            throw TransactionError(.governanceChangePending, "a \(change.proposal.kind) amendment is already scheduled for height \(pending.effectiveHeight); one at a time")
        }
        amendments.append(change)
        amendments.sort { $0.effectiveHeight != $1.effectiveHeight ? $0.effectiveHeight < $1.effectiveHeight : $0.subject.lexicographicallyPrecedes($1.subject) }
        overlay.set(StateKey.townAmendmentsKey, TownAmendmentList(amendments).canonicalBytes)
    }

    /// `set_rebate_tiers`: the issuer of an open rebate program sets (or, with no tiers,
    /// removes) its tiers.
    func setRebateTiers(_ body: SetRebateTiers, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        let program = try issuedProgram(body.program, signer: signer, overlay: overlay)
        guard program.definition.rebate != nil else {
            throw TransactionError(.invalidRebateTiers, "program \(body.program) has no rebate rule; tiers choose a rebate's rate")
        }
        if let problem = body.problem { throw TransactionError(.invalidRebateTiers, problem) }
        var list = try overlay.rebateTiers()
        list.removeAll { $0.program == body.program }
        if !body.tiers.isEmpty { list.insert(body, at: list.firstIndex { $0.program > body.program } ?? list.endIndex) }
        overlay.set(StateKey.rebateTiersKey, list.isEmpty ? nil : RebateTiersList(list).canonicalBytes)
    }

    /// The resident's coin spend at merchants this Japan-time month with `coinPaid` added, and
    /// every program's tiers; nil when no program has tiers (nothing is kept or read then).
    func noteMonthlySpend(coinPaid: Amount, payer: PublicKey, yearMonth: UInt32, overlay: inout StateOverlay) throws -> (spend: Amount, tiers: [SetRebateTiers])? {
        let tiers = try overlay.rebateTiers()
        guard !tiers.isEmpty else { return nil }
        let key = StateKey.monthlySpend(payer, yearMonth)
        let spend = try overlay.amount(key).addingReportingOverflow(coinPaid)
        let total = spend.overflow ? Amount.max : spend.partialValue
        overlay.setAmount(key, total)
        return (total, tiers)
    }
}
