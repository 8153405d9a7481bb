/// The last rules of issue 18 (ADR 0021, docs/ledger-rules.md "Tiered rebates" and
/// "Governance"): tiers of a rebate program by a resident's monthly spend (`set_rebate_tiers`,
/// tag 34) and the redemption fee per merchant category that a governance amendment sets.
/// Field order is the wire order (`docs/wire-format.md`).

/// One tier of a tiered rebate: from `minimumMonthlySpendYen` of coins paid at merchants in
/// the Japan-time month (this payment included), the program rebates `basisPoints`.
public struct RebateTier: Sendable, Hashable, Codable, CanonicalCodable {
    public var minimumMonthlySpendYen: UInt64
    /// 500 = 5%.
    public var basisPoints: UInt32

    public init(minimumMonthlySpendYen: UInt64, basisPoints: UInt32) {
        self.minimumMonthlySpendYen = minimumMonthlySpendYen
        self.basisPoints = basisPoints
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(minimumMonthlySpendYen, basisPoints) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        minimumMonthlySpendYen = try decoder.decodeUInt64()
        basisPoints = try decoder.decodeUInt32()
    }
}

/// `set_rebate_tiers` (tag 34): the issuer of a rebate program makes its rate depend on the
/// resident's coin payments at merchants in the Japan-time month: at a merchant the program
/// covers (its categories, and its named merchants when it has terms), the rate is the one of
/// the highest tier the month's spend reaches, this payment included; below the lowest tier
/// the program rebates nothing. The program's own category rates no longer apply. An empty
/// list removes the tiers (the category rates apply again). Setting tiers again replaces them.
public struct SetRebateTiers: Sendable, Hashable, CanonicalCodable {
    public static let tiersMax = 8

    public var program: UInt64
    /// Ascending by threshold, at most `tiersMax` (checked by the ledger, with a code).
    public var tiers: [RebateTier]

    public init(program: UInt64, tiers: [RebateTier]) {
        self.program = program
        self.tiers = tiers
    }

    /// The rate of the highest tier `spend` reaches, or nil below the lowest.
    public func rate(forMonthlySpend spend: UInt64) -> UInt32? {
        tiers.last { $0.minimumMonthlySpendYen <= spend }?.basisPoints
    }

    /// Why the tiers are refused, or nil: 1–10000 basis points each, thresholds strictly
    /// ascending, at most `tiersMax`.
    public var problem: String? {
        guard tiers.count <= Self.tiersMax else { return "at most \(Self.tiersMax) tiers" }
        for (index, tier) in tiers.enumerated() {
            guard (1...10_000).contains(tier.basisPoints) else { return "tier \(index + 1): a rate is 1–10000 basis points" }
            guard index == 0 || tiers[index - 1].minimumMonthlySpendYen < tier.minimumMonthlySpendYen else {
                return "tier \(index + 1): thresholds must be strictly ascending"
            }
        }
        return nil
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, tiers) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        tiers = try decoder.decodeList(RebateTier.self, maxCount: 64)
    }
}

/// A merchant category's redemption fee, overriding the asset's fee for merchants of that
/// category (a governance `categoryFees` amendment; a subsidy is a lower rate).
public struct CategoryFee: Sendable, Hashable, Codable, CanonicalCodable {
    public var merchantCategory: String
    /// 50 = 0.5%.
    public var basisPoints: UInt32

    public init(merchantCategory: String, basisPoints: UInt32) {
        self.merchantCategory = merchantCategory
        self.basisPoints = basisPoints
    }

    public static let feesMax = 32

    /// Why a fee list is refused, or nil: categories 1–32 bytes, sorted and distinct, rates at
    /// most 10000 basis points, at most `feesMax` entries.
    public static func problem(_ fees: [CategoryFee]) -> String? {
        guard fees.count <= feesMax else { return "categoryFees: at most \(feesMax) categories" }
        for (index, fee) in fees.enumerated() {
            guard (1...TransactionLimits.labelBytesMax).contains(fee.merchantCategory.utf8.count) else {
                return "categoryFees: a category is 1–\(TransactionLimits.labelBytesMax) bytes"
            }
            guard index == 0 || fees[index - 1].merchantCategory < fee.merchantCategory else {
                return "categoryFees: categories must be sorted without duplicates"
            }
            guard fee.basisPoints <= 10_000 else { return "categoryFees: \(fee.merchantCategory)'s fee may not exceed 10000 basis points (100%)" }
        }
        return nil
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(merchantCategory, basisPoints) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        merchantCategory = try decoder.decodeString(maxBytes: TransactionLimits.labelBytesMax)
        basisPoints = try decoder.decodeUInt32()
    }
}

extension Genesis {
    /// The redemption fee a merchant of `category` pays on `asset`: the category's fee of an
    /// amendment in force, else the asset policy's.
    public func redemptionFeeBasisPoints(_ asset: Asset, category: String?) -> UInt32 {
        if let category, let fee = categoryFees[asset]?.first(where: { $0.merchantCategory == category }) { return fee.basisPoints }
        return policy(for: asset).redemptionFeeBasisPoints
    }
}

/// The codes of tiered rebates (docs/ledger-rules.md "Tiered rebates").
extension TransactionErrorCode {
    /// `set_rebate_tiers`: the program has no rebate rule, or the tiers are malformed (a rate
    /// outside 1–10000, thresholds not strictly ascending, more than 8 tiers).
    public static let invalidRebateTiers = Self(rawValue: "ledger.invalid_rebate_tiers")
}
