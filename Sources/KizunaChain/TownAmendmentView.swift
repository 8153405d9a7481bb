public import KizunaCore

/// A charge-channel or category-fee amendment (ADR 0021) as `GET /v1/governance` and
/// `kizuna audit` show it: one shape for both, so the auditor's report compares field by field
/// with the node's answer.
public struct TownAmendmentView: Codable, Sendable, Equatable {
    public var effectiveHeight: UInt64
    /// `charge_channels` or `category_fees`.
    public var kind: String
    public var chargeChannels: [ChargeChannelDefinition]?
    public var asset: String?
    public var categoryFees: [CategoryFee]?

    public init(_ change: GovernanceChange) {
        effectiveHeight = change.effectiveHeight
        kind = change.proposal.kind
        switch change.proposal {
        case .chargeChannels(let channels): chargeChannels = channels
        case .categoryFees(let asset, let fees): (self.asset, categoryFees) = (asset.name, fees)
        case .validatorSet, .assetPolicy: break
        }
    }
}
