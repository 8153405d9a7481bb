/// The kinds of premium sales and event bonuses (issue 18, docs/ledger-rules.md "Premium on
/// charge" and "Event bonuses and charge channels"). Field order is the wire order
/// (`docs/wire-format.md`).

/// How much premium a charge earns: a fixed amount per whole charge unit (¥5 per ¥1,000:
/// "¥1,005 of value for ¥1,000"), or a rate on the whole units' value (2000 = 20%). Exactly
/// one of `premiumPerUnitYen` and `basisPoints` is non-zero (checked by `set_premium`).
public struct PremiumRule: Sendable, Hashable, CanonicalCodable {
    /// The charge unit in yen; only whole units earn a premium.
    public var unitYen: UInt64
    public var premiumPerUnitYen: UInt64
    public var basisPoints: UInt32

    public init(unitYen: UInt64, premiumPerUnitYen: UInt64 = 0, basisPoints: UInt32 = 0) {
        self.unitYen = unitYen
        self.premiumPerUnitYen = premiumPerUnitYen
        self.basisPoints = basisPoints
    }

    /// The premium on a charge of `amount` yen (integers, rounded down); nil on overflow or
    /// a zero unit.
    public func premium(on amount: UInt64) -> UInt64? {
        guard unitYen > 0 else { return nil }
        let units = amount / unitYen
        if premiumPerUnitYen > 0 {
            let product = units.multipliedReportingOverflow(by: premiumPerUnitYen)
            return product.overflow ? nil : product.partialValue
        }
        let full = (units * unitYen).multipliedFullWidth(by: UInt64(basisPoints))
        guard full.high < 10_000 else { return nil }
        return UInt64(10_000).dividingFullWidth(full).quotient
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(unitYen, premiumPerUnitYen, basisPoints) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        unitYen = try decoder.decodeUInt64()
        premiumPerUnitYen = try decoder.decodeUInt64()
        basisPoints = try decoder.decodeUInt32()
    }
}

/// `set_premium` (tag 27): the issuer of a point program makes it a premium sale — every
/// `charge_extended` that names it mints the premium as lots of the program (its funder,
/// budget, per-resident cap, period and use-by date). Setting again replaces the rule.
public struct SetPremium: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var rule: PremiumRule

    public init(program: UInt64, rule: PremiumRule) {
        self.program = program
        self.rule = rule
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, rule) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        rule = try decoder.decode(PremiumRule.self)
    }
}

/// `charge_extended` (tag 28): a charge by the coin issuer on a channel defined in genesis
/// (`chargeChannels`; ids 1 and 2 are the app and the charge machine when genesis names
/// none), optionally buying into a premium sale. The paid amount is minted as coins exactly
/// as a `charge`; the premium is minted as points of the named program.
public struct ChargeExtended: Sendable, Hashable, CanonicalCodable {
    public var to: PublicKey
    public var amount: Amount
    /// A channel id of the genesis `chargeChannels`.
    public var channel: UInt8
    public var receiptId: String
    /// The premium program the charge buys into; nil: none.
    public var premiumProgram: UInt64?

    public init(to: PublicKey, amount: Amount, channel: UInt8, receiptId: String, premiumProgram: UInt64? = nil) {
        self.to = to
        self.amount = amount
        self.channel = channel
        self.receiptId = receiptId
        self.premiumProgram = premiumProgram
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(to, amount, channel, receiptId, premiumProgram) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        to = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        channel = try decoder.decodeUInt8()
        receiptId = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
        premiumProgram = try decoder.decodeOptional(UInt64.self)
    }
}

/// The event that earns a program's automatic bonus.
public enum BonusEvent: UInt8, Sendable, Hashable, CaseIterable, CanonicalTag {
    /// A charge (`charge` or `charge_extended`) to the resident.
    case firstCharge = 1
    /// A payment by the resident at a merchant (`pay`, `pay_authorised`).
    case firstPayment = 2

    public var name: String {
        switch self {
        case .firstCharge: "first_charge"
        case .firstPayment: "first_payment"
        }
    }

    public static let tagName = "bonus event"
}

/// `set_event_bonus` (tag 33): the issuer of a point program makes it grant `amountYen` to
/// each resident automatically, once, on the resident's first charge or first payment while
/// the program applies (its period, until closed; once: while the program has granted the
/// resident nothing). Amount 0 turns the bonus off.
public struct SetEventBonus: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var event: BonusEvent
    public var amountYen: UInt64

    public init(program: UInt64, event: BonusEvent, amountYen: UInt64) {
        self.program = program
        self.event = event
        self.amountYen = amountYen
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, event, amountYen) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        event = try decoder.decode(BonusEvent.self)
        amountYen = try decoder.decodeUInt64()
    }
}
