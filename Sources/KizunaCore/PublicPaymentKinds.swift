/// Paying the city, public bodies and clubs, and standing orders (issue 18, docs/ledger-rules.md
/// "Payments to public bodies and clubs" and "Standing orders"). Field order is the wire order
/// (`docs/wire-format.md`).

/// What a payment to an organisation is for; the collections report counts each apart.
public enum PaymentPurpose: UInt8, Sendable, Hashable, CaseIterable, CanonicalTag {
    /// A tax (resident tax, property tax): public bodies only.
    case tax = 1
    /// A public fee or charge (a facility's use fee, a club's membership fee).
    case fee = 2
    /// A donation.
    case donation = 3

    public var name: String {
        switch self {
        case .tax: "tax"
        case .fee: "fee"
        case .donation: "donation"
        }
    }

    public static let tagName = "payment purpose"
}

/// The two kinds of organisation account (role `organisation`, the registration's category).
public enum OrganisationKind {
    /// The city's own collection accounts and other public bodies: taxes, fees, donations.
    public static let publicBody = "public"
    /// Registered clubs and NPOs: fees and donations.
    public static let club = "club"
    public static let all = [publicBody, club]
}

/// `pay_public` (tag 29): a resident pays an organisation in coins — a tax, a fee or a donation.
public struct PayPublic: Sendable, Hashable, CanonicalCodable {
    public var to: PublicKey
    public var amount: Amount
    public var purpose: PaymentPurpose
    /// The payer's reference (a tax notice number), for the organisation's reconciliation.
    public var reference: String

    public init(to: PublicKey, amount: Amount, purpose: PaymentPurpose, reference: String) {
        self.to = to
        self.amount = amount
        self.purpose = purpose
        self.reference = reference
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(to, amount, purpose, reference) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        to = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        purpose = try decoder.decode(PaymentPurpose.self)
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
    }
}

/// When a standing order's instalments fall due: instalment n (from 0) is due from 00:00
/// Japan time on `dayOfMonth` of the month `intervalMonths × n` months after `firstMonth`.
public struct StandingOrderSchedule: Sendable, Hashable, CanonicalCodable {
    /// yyyymm of the first instalment.
    public var firstMonth: UInt32
    /// 1–28, so every month has the day.
    public var dayOfMonth: UInt8
    /// 1–12: monthly, every two months, …, yearly.
    public var intervalMonths: UInt8
    /// How many instalments in all; 0: until cancelled.
    public var instalments: UInt32

    public init(firstMonth: UInt32, dayOfMonth: UInt8, intervalMonths: UInt8 = 1, instalments: UInt32 = 0) {
        self.firstMonth = firstMonth
        self.dayOfMonth = dayOfMonth
        self.intervalMonths = intervalMonths
        self.instalments = instalments
    }

    /// The reason the schedule is refused, or nil.
    public var problem: String? {
        let (year, month) = (firstMonth / 100, firstMonth % 100)
        guard (2000...9999).contains(year), (1...12).contains(month) else { return "the first month \(firstMonth) is not a yyyymm month" }
        guard (1...28).contains(dayOfMonth) else { return "the day of the month must be 1–28 (every month has it)" }
        guard (1...12).contains(intervalMonths) else { return "the interval must be 1–12 months" }
        return nil
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(firstMonth, dayOfMonth, intervalMonths, instalments) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        firstMonth = try decoder.decodeUInt32()
        dayOfMonth = try decoder.decodeUInt8()
        intervalMonths = try decoder.decodeUInt8()
        instalments = try decoder.decodeUInt32()
    }
}

/// `authorise_standing_order` (tag 30): a resident lets a payee (an organisation or a
/// merchant) collect instalments on a schedule, each at most `capYen`. The order's id is the
/// id of this transaction.
public struct AuthoriseStandingOrder: Sendable, Hashable, CanonicalCodable {
    public var payee: PublicKey
    public var capYen: UInt64
    public var purpose: PaymentPurpose
    public var reference: String
    public var schedule: StandingOrderSchedule

    public init(payee: PublicKey, capYen: UInt64, purpose: PaymentPurpose, reference: String, schedule: StandingOrderSchedule) {
        self.payee = payee
        self.capYen = capYen
        self.purpose = purpose
        self.reference = reference
        self.schedule = schedule
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(payee, capYen, purpose, reference, schedule) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        payee = try decoder.decode(PublicKey.self)
        capYen = try decoder.decodeUInt64()
        purpose = try decoder.decode(PaymentPurpose.self)
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
        schedule = try decoder.decode(StandingOrderSchedule.self)
    }
}

/// `pay_instalment` (tag 31): the next instalment of a standing order, submitted by the payee
/// or anyone (the signer pays nothing). It names the payer, checked against the order, for
/// the payer's history.
public struct PayInstalment: Sendable, Hashable, CanonicalCodable {
    public var order: Hash
    public var payer: PublicKey
    public var amount: Amount

    public init(order: Hash, payer: PublicKey, amount: Amount) {
        self.order = order
        self.payer = payer
        self.amount = amount
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(order, payer, amount) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        order = try decoder.decodeHash()
        payer = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
    }
}

/// `cancel_standing_order` (tag 32): the payer ends a standing order at once. It names the
/// payee, checked against the order, for the payee's history.
public struct CancelStandingOrder: Sendable, Hashable, CanonicalCodable {
    public var order: Hash
    public var payee: PublicKey

    public init(order: Hash, payee: PublicKey) {
        self.order = order
        self.payee = payee
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(order, payee) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        order = try decoder.decodeHash()
        payee = try decoder.decode(PublicKey.self)
    }
}
