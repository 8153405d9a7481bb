/// The transaction kinds beyond register/charge/send (design §2.3). Field order is the
/// wire order (`docs/wire-format.md`).

/// A rebate rule of a campaign program: a rate per merchant category, applied to the
/// coin-paid part of a payment, capped per resident per Japan-time calendar month.
public struct RebateRule: Sendable, Hashable, CanonicalCodable {
    public struct Rate: Sendable, Hashable, CanonicalCodable {
        public var merchantCategory: String
        /// 1000 = 10%.
        public var basisPoints: UInt32

        public init(merchantCategory: String, basisPoints: UInt32) {
            self.merchantCategory = merchantCategory
            self.basisPoints = basisPoints
        }

        public func encode(to encoder: inout Encoder) { encoder.encode(merchantCategory, basisPoints) }

        public init(from decoder: inout Decoder) throws(DecodingError) {
            merchantCategory = try decoder.decodeString(maxBytes: TransactionLimits.labelBytesMax)
            basisPoints = try decoder.decodeUInt32()
        }
    }

    /// Sorted by category, no duplicates (checked when decoding).
    public var rates: [Rate]
    public var monthlyCapPerResidentYen: UInt64

    public init(rates: [Rate], monthlyCapPerResidentYen: UInt64) {
        self.rates = rates.sorted { $0.merchantCategory < $1.merchantCategory }
        self.monthlyCapPerResidentYen = monthlyCapPerResidentYen
    }

    public func rate(for category: String) -> UInt32? {
        rates.first { $0.merchantCategory == category }?.basisPoints
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(rates, monthlyCapPerResidentYen) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        rates = try decoder.decodeList(Rate.self, maxCount: 32)
        for index in rates.indices.dropFirst() where !(rates[index - 1].merchantCategory < rates[index].merchantCategory) {
            throw decoder.invalid("rebate rates must be sorted by category without duplicates", at: start)
        }
        monthlyCapPerResidentYen = try decoder.decodeUInt64()
    }
}

/// `create-program`: a points or thanks program with its funder, budget and rules.
public struct CreateProgram: Sendable, Hashable, CanonicalCodable {
    /// `point` or `thanks`.
    public var asset: Asset
    public var name: String
    /// Who pays for the value granted (the city, the coin issuer, or a merchant's own campaign).
    public var funder: PublicKey
    public var budgetYen: UInt64
    /// How the program's lots expire.
    public var expiry: ExpiryRule
    /// The most one resident may receive from the program in all.
    public var perResidentCapYen: UInt64
    public var rebate: RebateRule?

    public init(asset: Asset, name: String, funder: PublicKey, budgetYen: UInt64, expiry: ExpiryRule, perResidentCapYen: UInt64, rebate: RebateRule? = nil) {
        self.asset = asset
        self.name = name
        self.funder = funder
        self.budgetYen = budgetYen
        self.expiry = expiry
        self.perResidentCapYen = perResidentCapYen
        self.rebate = rebate
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(asset, name, funder, budgetYen, expiry, perResidentCapYen, rebate) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        asset = try decoder.decode(Asset.self)
        name = try decoder.decodeString(maxBytes: 64)
        funder = try decoder.decode(PublicKey.self)
        budgetYen = try decoder.decodeUInt64()
        expiry = try decoder.decode(ExpiryRule.self)
        perResidentCapYen = try decoder.decodeUInt64()
        rebate = try decoder.decodeOptional(RebateRule.self)
    }
}

/// `grant`: points or thanks to a resident from a program.
public struct Grant: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var to: PublicKey
    public var amount: Amount

    public init(program: UInt64, to: PublicKey, amount: Amount) {
        self.program = program
        self.to = to
        self.amount = amount
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, to, amount) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        to = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
    }
}

/// `pay`: a resident pays a merchant an amount in yen (points first, soonest-expiring lots
/// first, then coins).
public struct Pay: Sendable, Hashable, CanonicalCodable {
    public var merchant: PublicKey
    public var amount: Amount

    public init(merchant: PublicKey, amount: Amount) {
        self.merchant = merchant
        self.amount = amount
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(merchant, amount) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        merchant = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
    }
}

/// `redeem`: a merchant cashes out everything it has received (coins and points).
public struct Redeem: Sendable, Hashable, CanonicalCodable {
    /// The merchant's own reference for the payout (bank transfer id), for reconciliation.
    public var reference: String

    public init(reference: String) { self.reference = reference }

    public func encode(to encoder: inout Encoder) { encoder.encode(reference) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
    }
}

/// Why coins are refunded. The Payment Services Act allows refunds of prepaid value only
/// within limits, except for reasons it exempts.
public enum RefundReason: UInt8, Sendable, Hashable, CaseIterable, CanonicalTag {
    /// The holder moved out of the city (exempt from the limits).
    case movedAway = 1
    /// The holder died (exempt).
    case deceased = 2
    /// The currency or the service ends (exempt: the law requires refunds).
    case serviceTermination = 3
    /// Anything else: counts against the per-period limits.
    case other = 9

    public var name: String {
        switch self {
        case .movedAway: "moved_away"
        case .deceased: "deceased"
        case .serviceTermination: "service_termination"
        case .other: "other"
        }
    }

    /// Exempt reasons are not limited.
    public var isExempt: Bool { self != .other }

    public static let tagName = "refund reason"
}

/// `refund`: the coin issuer pays a resident's coins back in yen.
public struct Refund: Sendable, Hashable, CanonicalCodable {
    public var account: PublicKey
    public var amount: Amount
    public var reason: RefundReason

    public init(account: PublicKey, amount: Amount, reason: RefundReason) {
        self.account = account
        self.amount = amount
        self.reason = reason
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(account, amount, reason) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        account = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        reason = try decoder.decode(RefundReason.self)
    }
}

/// `freeze` / `unfreeze`: the registrar stops or restarts an account (lost phone or card).
public struct AccountAction: Sendable, Hashable, CanonicalCodable {
    public var account: PublicKey

    public init(account: PublicKey) { self.account = account }

    public func encode(to encoder: inout Encoder) { encoder.encode(account) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        account = try decoder.decode(PublicKey.self)
    }
}

/// `recover`: move everything of a frozen account to a new key. Signed by the registrar and
/// co-signed by the city.
public struct Recover: Sendable, Hashable, CanonicalCodable {
    public var from: PublicKey
    public var to: PublicKey

    public init(from: PublicKey, to: PublicKey) {
        self.from = from
        self.to = to
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(from, to) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        self.from = try decoder.decode(PublicKey.self)
        to = try decoder.decode(PublicKey.self)
    }
}
