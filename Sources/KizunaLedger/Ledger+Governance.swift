public import KizunaCore
public import KizunaStorage

/// Governance on a live chain (ADR 0018, docs/ledger-rules.md "Governance"): `govern`
/// schedules a new validator set, an amended asset policy, charge channels or category fees
/// (ADR 0021, Ledger+PolicyAmendments.swift) at a future height, approved by
/// validators holding more than two thirds of the voting power in force. The ledger keeps
/// every change in its state, so the rules in force at any height are a function of the state
/// (`inForce(at:state:)`), and the state root commits to them.
extension StateKey {
    static let validatorChanges: UInt8 = 0x23
    static let policyAmendments: UInt8 = 0x24
    /// `0x23` → `ValidatorChangeList`: every validator-set change, by effective height.
    public static let validatorChangesKey: [UInt8] = [validatorChanges]
    /// `0x24` → `PolicyAmendmentList`: every asset-policy amendment, by effective height then asset.
    public static let policyAmendmentsKey: [UInt8] = [policyAmendments]
}

/// A list as the governance records store it: `u32` count ‖ each element. `0x23` holds
/// every validator-set change, oldest first; `0x24` every policy amendment, by effective height
/// then asset.
public struct StoredList<Element: CanonicalCodable & Sendable & Hashable>: Sendable, Hashable, CanonicalCodable {
    public var elements: [Element]

    public init(_ elements: [Element]) { self.elements = elements }

    public func encode(to encoder: inout Encoder) { encoder.encode(elements) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        elements = try decoder.decodeList(Element.self, maxCount: Int(UInt32.max))
    }
}

public typealias ValidatorChangeList = StoredList<ValidatorSetChange>
public typealias PolicyAmendmentList = StoredList<PolicyAmendment>

/// An asset policy in force from a height on (`0x24`).
public struct PolicyAmendment: Sendable, Hashable, CanonicalCodable {
    public var effectiveHeight: UInt64
    public var asset: Asset
    public var policy: AssetPolicy

    public init(effectiveHeight: UInt64, asset: Asset, policy: AssetPolicy) {
        self.effectiveHeight = effectiveHeight
        self.asset = asset
        self.policy = policy
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(effectiveHeight, asset, policy) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        effectiveHeight = try decoder.decodeUInt64()
        asset = try decoder.decode(Asset.self)
        policy = try decoder.decode(AssetPolicy.self)
    }
}

extension Ledger {
    /// The fewest blocks between the block that carries a `govern` and the change: the
    /// effective height must be above the block's height plus this. It gives every node (and
    /// its operator) time to see the change coming, and it guarantees the consensus engine
    /// knows a height's validator set before it starts deciding the height before it.
    public static let governanceLeadBlocksMin: UInt64 = 10

    /// The validator sets of the chain as the state in `store` records them.
    public func validatorSchedule(store: any KeyValueStore) throws -> ValidatorSchedule {
        try validatorSchedule(state: StateOverlay(base: store))
    }

    func validatorSchedule(state: StateOverlay) throws -> ValidatorSchedule {
        let stored = try state.decoded(StateKey.validatorChangesKey, as: ValidatorChangeList.self)
        return ValidatorSchedule(genesis: genesisValidators, changes: stored?.elements ?? [])
    }

    /// Every policy amendment the state in `store` records, by effective height then asset.
    public func policyAmendments(store: any KeyValueStore) throws -> [PolicyAmendment] {
        try StateOverlay(base: store).decoded(StateKey.policyAmendmentsKey, as: PolicyAmendmentList.self)?.elements ?? []
    }

    /// The ledger with the rules in force at block `height`: genesis's validator set and asset
    /// policies replaced by the governance changes in force then. The same ledger when nothing
    /// was ever changed (the common case reads two absent keys).
    public func inForce(at height: UInt64, state: StateOverlay) throws -> Ledger {
        let changes = try state.decoded(StateKey.validatorChangesKey, as: ValidatorChangeList.self)?.elements ?? []
        let amendments = try state.decoded(StateKey.policyAmendmentsKey, as: PolicyAmendmentList.self)?.elements ?? []
        let townAmendments = try state.decoded(StateKey.townAmendmentsKey, as: TownAmendmentList.self)?.elements ?? []
        guard !changes.isEmpty || !amendments.isEmpty || !townAmendments.isEmpty else { return self }
        var rules = genesis
        rules.validators = ValidatorSchedule(genesis: genesisValidators, changes: changes).set(at: height)
        for amendment in amendments where amendment.effectiveHeight <= height {
            switch amendment.asset {
            case .coin: rules.coin = amendment.policy
            case .point: rules.point = amendment.policy
            case .thanks: rules.thanks = amendment.policy
            }
        }
        for amendment in townAmendments where amendment.effectiveHeight <= height { amendment.apply(to: &rules) }
        return Ledger(rules: rules, of: self)
    }

    /// The rules in force at `height` on the committed state in `store`.
    public func inForce(at height: UInt64, store: any KeyValueStore) throws -> Ledger {
        try inForce(at: height, state: StateOverlay(base: store))
    }

    /// `govern`: checks the approvals against the validator set in force at this block, then
    /// the proposal, and schedules it. Runs on a ledger already `inForce` at the block.
    func govern(_ body: Govern, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard genesis.authorities.all.contains(where: { $0.key == signer }) else {
            throw TransactionError(.notAuthorised, "a governance change is submitted by an authority account named in genesis")
        }
        let change = body.change
        let earliest = context.height.adding(Ledger.governanceLeadBlocksMin + 1) ?? UInt64.max
        guard change.effectiveHeight >= earliest else {
            throw TransactionError(.governanceTooSoon, "effective height \(change.effectiveHeight) is too soon: in block \(context.height) a change can take effect from height \(earliest) (at least \(Ledger.governanceLeadBlocksMin) blocks ahead); sign a new proposal with a later height")
        }
        let schedule = try validatorSchedule(state: overlay)
        let set = schedule.set(at: context.height)
        let message = change.proposalHash(chainId: genesis.chainId).bytes
        var approvers: Set<PublicKey> = []
        var power: UInt64 = 0
        for approval in body.approvals {
            guard approvers.insert(approval.signer).inserted else {
                throw TransactionError(.governanceDuplicateApproval, "validator \(approval.signer.address) approves twice; combine one approval per validator")
            }
            guard let validator = set.validator(for: approval.signer) else {
                throw TransactionError(.governanceUnknownValidator, "\(approval.signer.address) is not a validator of the set in force at height \(context.height)")
            }
            guard approval.signer.isValidSignature(approval.signature, for: message) else {
                throw TransactionError(.governanceBadApproval, "the approval of validator '\(validator.name)' does not verify for this change on chain '\(genesis.chainId)': it was signed for other bytes (another height or proposal)")
            }
            power += validator.votingPower
        }
        guard set.isQuorum(power) else {
            throw TransactionError(.governanceNoQuorum, "the approvals hold \(power) of \(set.totalVotingPower) voting power; more than two thirds is needed")
        }
        switch change.proposal {
        case .validatorSet(let validators):
            try scheduleValidators(validators, change: change, schedule: schedule, context: context, overlay: &overlay)
        case .assetPolicy(let asset, let policy):
            try amendPolicy(asset, to: policy, change: change, context: context, overlay: &overlay)
        case .chargeChannels, .categoryFees:
            try amendTownRules(change, context: context, overlay: &overlay)
        }
    }

    private func scheduleValidators(_ validators: [Validator], change: GovernanceChange, schedule: ValidatorSchedule, context: BlockContext, overlay: inout StateOverlay) throws {
        if let problem = ValidatorSet.problem(validators) {
            throw TransactionError(.governanceInvalidProposal, problem)
        }
        if let pending = schedule.pending(at: context.height) {
            throw TransactionError(.governanceChangePending, "a validator-set change is already scheduled for height \(pending.from); one at a time")
        }
        let authorityKeys = genesis.authorities.all.map(\.key)
        for validator in validators {
            guard !authorityKeys.contains(validator.publicKey), try overlay.account(validator.publicKey) == nil else {
                throw TransactionError(.governanceInvalidProposal, "validator '\(validator.name)': \(validator.publicKey.address) is an account's key; a validator key is its own")
            }
        }
        guard ValidatorSet(validators).hash != schedule.set(at: change.effectiveHeight).hash else {
            throw TransactionError(.governanceInvalidProposal, "the proposed set has the keys and powers of the set in force: it changes nothing")
        }
        var next = schedule
        next.schedule(ValidatorSetChange(effectiveHeight: change.effectiveHeight, validators: validators))
        overlay.set(StateKey.validatorChangesKey, ValidatorChangeList(next.changes).canonicalBytes)
    }

    private func amendPolicy(_ asset: Asset, to policy: AssetPolicy, change: GovernanceChange, context: BlockContext, overlay: inout StateOverlay) throws {
        if let problem = policy.limitsProblem(assetName: asset.name) {
            throw TransactionError(.governanceInvalidProposal, problem)
        }
        guard policy.expiry == genesis.policy(for: asset).expiry else {
            throw TransactionError(.governanceInvalidProposal, "asset \(asset.name): the expiry rule cannot change on a live chain (lots and coins already carry their expiry)")
        }
        if asset == .coin {
            if let problem = genesis.cardPolicy?.problem(coin: policy) ?? genesis.visitorPolicy?.problem(coin: policy) {
                throw TransactionError(.governanceInvalidProposal, problem)
            }
        }
        var amendments = try overlay.decoded(StateKey.policyAmendmentsKey, as: PolicyAmendmentList.self)?.elements ?? []
        if let pending = amendments.first(where: { $0.asset == asset && $0.effectiveHeight > context.height }) {
            throw TransactionError(.governanceChangePending, "an amendment of the \(asset.name) policy is already scheduled for height \(pending.effectiveHeight); one at a time")
        }
        amendments.append(PolicyAmendment(effectiveHeight: change.effectiveHeight, asset: asset, policy: policy))
        amendments.sort { $0.effectiveHeight != $1.effectiveHeight ? $0.effectiveHeight < $1.effectiveHeight : $0.asset < $1.asset }
        overlay.set(StateKey.policyAmendmentsKey, PolicyAmendmentList(amendments).canonicalBytes)
    }
}
