public import KizunaCore

/// An invoice (`issue_invoice`) and what was paid on it. Invariants (checked after every
/// block): paid ≤ amount; paid never decreases; a cancelled invoice stays cancelled.
public struct InvoiceState: Sendable, Hashable, CanonicalCodable {
    /// The id of the `issue_invoice` transaction.
    public var id: Hash
    public var issuer: PublicKey
    public var payer: PublicKey
    public var amount: Amount
    public var dueAt: UInt64
    public var reference: String
    public var issuedAt: UInt64
    public var paid: Amount = 0
    /// How many `pay_invoice` payments were made.
    public var payments: UInt32 = 0
    /// Block time of the last payment; nil before the first.
    public var lastPaidAt: UInt64?
    /// True once any payment came at or after the due date.
    public var paidLate: Bool = false
    /// Block time of the cancellation; nil while not cancelled.
    public var cancelledAt: UInt64?

    public init(id: Hash, issuer: PublicKey, payer: PublicKey, amount: Amount, dueAt: UInt64, reference: String, issuedAt: UInt64) {
        self.id = id
        self.issuer = issuer
        self.payer = payer
        self.amount = amount
        self.dueAt = dueAt
        self.reference = reference
        self.issuedAt = issuedAt
    }

    public var outstanding: Amount { cancelledAt == nil ? amount - paid : 0 }

    /// The invoice's status at `time` (UTC ms): `cancelled`, `paid`, `paid_late`, `overdue`,
    /// `partially_paid` or `open` — the first that applies.
    public func status(at time: UInt64) -> String {
        if cancelledAt != nil { return "cancelled" }
        if paid == amount { return paidLate ? "paid_late" : "paid" }
        if time >= dueAt { return "overdue" }
        return paid > 0 ? "partially_paid" : "open"
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(id, issuer, payer, amount, dueAt, reference, issuedAt, paid, payments, lastPaidAt, paidLate, cancelledAt)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        id = try decoder.decodeHash()
        issuer = try decoder.decode(PublicKey.self)
        payer = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        dueAt = try decoder.decodeUInt64()
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
        issuedAt = try decoder.decodeUInt64()
        paid = try decoder.decodeUInt64()
        payments = try decoder.decodeUInt32()
        lastPaidAt = try decoder.decodeOptional(UInt64.self)
        paidLate = try decoder.decodeBool()
        cancelledAt = try decoder.decodeOptional(UInt64.self)
    }
}

/// The opt-in attributes a resident had before a consent change (`update_consent`): the
/// aggregates of a payment at an earlier height read these, so a published cell never
/// changes when a resident later moves district or withdraws. The same three fields, in the
/// same encoding, as the transaction that changes them.
public typealias ConsentChange = UpdateConsent
