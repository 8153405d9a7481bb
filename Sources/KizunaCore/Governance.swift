/// Governance on a live chain (issue 20 must-be-true 4, issue 18 "policy on a live chain",
/// ADR 0018): a `govern` transaction carries a proposal — a new validator set, or an amended
/// asset policy — with the height from which it holds and the approvals of validators that
/// hold more than two thirds of the voting power in force. Field order is the wire order
/// (`docs/wire-format.md` §7.10).

/// What a governance transaction changes.
public enum GovernanceProposal: Sendable, Hashable, CanonicalCodable {
    /// The validator set from the effective height on: exactly these validators (sorted by
    /// key when the set is made), replacing the set in force.
    case validatorSet([Validator])
    /// An asset's policy from the effective height on (limits, caps, bonus rates, fee).
    /// The expiry rule cannot change on a live chain (lots already carry their expiry).
    case assetPolicy(asset: Asset, policy: AssetPolicy)
    /// The charge channels from the effective height on: the whole list (name, bonus rate),
    /// replacing the list in force (ADR 0021).
    case chargeChannels([ChargeChannelDefinition])
    /// The redemption fees of `asset` per merchant category from the effective height on: the
    /// whole list, replacing the one in force (empty: the asset's fee for every category).
    case categoryFees(asset: Asset, fees: [CategoryFee])

    public var kind: String {
        switch self {
        case .validatorSet: "validator_set"
        case .assetPolicy: "asset_policy"
        case .chargeChannels: "charge_channels"
        case .categoryFees: "category_fees"
        }
    }

    /// The proposal's wire kind byte.
    public var kindNumber: UInt8 {
        switch self {
        case .validatorSet: 1
        case .assetPolicy: 2
        case .chargeChannels: 3
        case .categoryFees: 4
        }
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(kindNumber)
        switch self {
        case .validatorSet(let validators): encoder.encode(validators)
        case .assetPolicy(let asset, let policy): encoder.encode(asset, policy)
        case .chargeChannels(let channels): encoder.encode(channels)
        case .categoryFees(let asset, let fees): encoder.encode(asset, fees)
        }
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        switch try decoder.decodeUInt8() {
        case 1: self = .validatorSet(try decoder.decodeList(Validator.self, maxCount: BlockLimits.validatorsMax))
        case 2: self = .assetPolicy(asset: try decoder.decode(Asset.self), policy: try decoder.decode(AssetPolicy.self))
        case 3: self = .chargeChannels(try decoder.decodeList(ChargeChannelDefinition.self, maxCount: ChargeChannelDefinition.channelsMax))
        case 4: self = .categoryFees(asset: try decoder.decode(Asset.self), fees: try decoder.decodeList(CategoryFee.self, maxCount: CategoryFee.feesMax))
        case let other: throw DecodingError(.invalidTag, "unknown governance proposal kind \(other)", offset: start)
        }
    }
}

/// A proposal with the height from which it holds: what validators approve.
public struct GovernanceChange: Sendable, Hashable, CanonicalCodable {
    /// The first block height at which the change is in force.
    public var effectiveHeight: UInt64
    public var proposal: GovernanceProposal

    public init(effectiveHeight: UInt64, proposal: GovernanceProposal) {
        self.effectiveHeight = effectiveHeight
        self.proposal = proposal
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(effectiveHeight, proposal) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        effectiveHeight = try decoder.decodeUInt64()
        proposal = try decoder.decode(GovernanceProposal.self)
    }

    /// The hash each approving validator signs, bound to the chain:
    /// `H("KIZUNA/GOVERNANCE/V1" 00 ‖ chain id ‖ change)`. The domain keeps an approval from
    /// ever being read as a vote, a transaction or a genesis approval.
    public func proposalHash(chainId: String) -> Hash {
        var encoder = Encoder()
        encoder.encode(chainId)
        encode(to: &encoder)
        return Hash.tagged(.governance, encoder.bytes)
    }

    /// One validator's approval, made offline with its validator key (`kizuna governance sign`).
    public func approve(chainId: String, with key: PrivateKey) -> Cosignature {
        Cosignature(signer: key.publicKey, signature: key.sign(proposalHash(chainId: chainId).bytes))
    }
}

/// `govern` (tag 24): submitted by an authority account; authorised by the approvals, one per
/// validator, sorted by key.
public struct Govern: Sendable, Hashable, CanonicalCodable {
    public var change: GovernanceChange
    public var approvals: [Cosignature]

    public init(change: GovernanceChange, approvals: [Cosignature]) {
        self.change = change
        self.approvals = approvals.sorted { $0.signer < $1.signer }
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(change, approvals) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        change = try decoder.decode(GovernanceChange.self)
        approvals = try decoder.decodeList(Cosignature.self, maxCount: BlockLimits.validatorsMax)
    }
}

/// The validator set in force at every height: genesis's from height 1, then each change from
/// its effective height. A deterministic function of the chain — the ledger keeps the changes
/// in its state (`0x23`), and anyone holding the blocks can rebuild them (`noting(_:)`).
public struct ValidatorSchedule: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// The first height the set is in force at.
        public let from: UInt64
        public let set: ValidatorSet
    }

    /// Ascending by `from`; the first is genesis's, from height 1.
    public private(set) var entries: [Entry]

    public init(genesis: ValidatorSet, changes: [ValidatorSetChange] = []) {
        entries = [Entry(from: 1, set: genesis)]
        for change in changes { schedule(change) }
    }

    /// The set that decides (and certifies) block `height`.
    public func set(at height: UInt64) -> ValidatorSet {
        var found = entries[0].set
        for entry in entries where entry.from <= height { found = entry.set }
        return found
    }

    /// The changes after genesis, oldest first.
    public var changes: [ValidatorSetChange] {
        entries.dropFirst().map { ValidatorSetChange(effectiveHeight: $0.from, validators: $0.set.validators) }
    }

    /// The change not yet in force at `height`, if one is scheduled.
    public func pending(at height: UInt64) -> Entry? { entries.last.flatMap { $0.from > height ? $0 : nil } }

    /// Adds a change; a later change replaces any scheduled at or after its height.
    public mutating func schedule(_ change: ValidatorSetChange) {
        entries.removeAll { $0.from >= change.effectiveHeight && $0.from > 1 }
        entries.append(Entry(from: change.effectiveHeight, set: ValidatorSet(change.validators)))
    }

    /// Every key of a set in force at `height` or later: the peers a node accepts.
    public func keys(from height: UInt64) -> Set<PublicKey> {
        var keys = Set(set(at: height).validators.map(\.publicKey))
        for entry in entries where entry.from > height { keys.formUnion(entry.set.validators.map(\.publicKey)) }
        return keys
    }

    /// The schedule after a committed block: its `govern` transactions that change the
    /// validator set (a committed block holds only accepted transactions). This is how a
    /// verifier without the state (block sync, `ChainVerifier`) follows the set.
    public func noting(_ block: Block) -> ValidatorSchedule {
        var next = self
        for signed in block.transactions {
            guard case .govern(let govern) = signed.transaction.body, case .validatorSet(let validators) = govern.change.proposal else { continue }
            next.schedule(ValidatorSetChange(effectiveHeight: govern.change.effectiveHeight, validators: validators))
        }
        return next
    }
}

/// A scheduled validator-set change as the ledger stores it.
public struct ValidatorSetChange: Sendable, Hashable, CanonicalCodable {
    public var effectiveHeight: UInt64
    public var validators: [Validator]

    public init(effectiveHeight: UInt64, validators: [Validator]) {
        self.effectiveHeight = effectiveHeight
        self.validators = validators
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(effectiveHeight, validators) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        effectiveHeight = try decoder.decodeUInt64()
        validators = try decoder.decodeList(Validator.self, maxCount: BlockLimits.validatorsMax)
    }
}

/// The refusals of `govern` (docs/ledger-rules.md "Governance").
extension TransactionErrorCode {
    /// `govern`: the effective height is not far enough ahead (ADR 0018).
    public static let governanceTooSoon = Self(rawValue: "ledger.governance_too_soon")
    /// `govern`: the approvals hold no more than two thirds of the voting power in force.
    public static let governanceNoQuorum = Self(rawValue: "ledger.governance_no_quorum")
    /// `govern`: an approval by a key that is not a validator of the set in force.
    public static let governanceUnknownValidator = Self(rawValue: "ledger.governance_unknown_validator")
    /// `govern`: two approvals by one validator.
    public static let governanceDuplicateApproval = Self(rawValue: "ledger.governance_duplicate_approval")
    /// `govern`: an approval whose signature does not verify for this change on this chain.
    public static let governanceBadApproval = Self(rawValue: "ledger.governance_bad_approval")
    /// `govern`: a change of the same thing is already scheduled and not yet in force.
    public static let governanceChangePending = Self(rawValue: "ledger.governance_change_pending")
    /// `govern`: the proposal itself breaks a rule (an empty or malformed set, an expiry change…).
    public static let governanceInvalidProposal = Self(rawValue: "ledger.governance_invalid_proposal")
}
