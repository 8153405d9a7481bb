/// The transaction kinds of business payments, invoices and changing consent (issue 21).
/// Field order is the wire order (`docs/wire-format.md`, "Business payments, invoices and
/// consent").

/// `pay_business` (tag 19): a business (a merchant account) pays another in coins.
public struct PayBusiness: Sendable, Hashable, CanonicalCodable {
    public var to: PublicKey
    public var amount: Amount
    /// The payer's own reference (an order or delivery note), for reconciliation.
    public var reference: String

    public init(to: PublicKey, amount: Amount, reference: String) {
        self.to = to
        self.amount = amount
        self.reference = reference
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(to, amount, reference) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        to = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
    }
}

/// `issue_invoice` (tag 20): a business (the payee, who signs) bills another business. The
/// invoice's id is the id of this transaction.
public struct IssueInvoice: Sendable, Hashable, CanonicalCodable {
    public var payer: PublicKey
    public var amount: Amount
    /// UTC milliseconds: payments at or after this instant are late.
    public var dueAt: UInt64
    /// The issuer's invoice number; unique per issuer.
    public var reference: String

    public init(payer: PublicKey, amount: Amount, dueAt: UInt64, reference: String) {
        self.payer = payer
        self.amount = amount
        self.dueAt = dueAt
        self.reference = reference
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(payer, amount, dueAt, reference) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        payer = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        dueAt = try decoder.decodeUInt64()
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
    }
}

/// `pay_invoice` (tag 21): the invoice's payer pays all or part of what is still open.
/// It names the issuer too, so the transaction alone says whose balance it moves (account
/// history, indexer); the ledger checks the issuer is the invoice's.
public struct PayInvoice: Sendable, Hashable, CanonicalCodable {
    /// The id of the `issue_invoice` transaction.
    public var invoice: Hash
    public var issuer: PublicKey
    public var amount: Amount

    public init(invoice: Hash, issuer: PublicKey, amount: Amount) {
        self.invoice = invoice
        self.issuer = issuer
        self.amount = amount
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(invoice, issuer, amount) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        invoice = try decoder.decodeHash()
        issuer = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
    }
}

/// `cancel_invoice` (tag 22): the issuer cancels what is still open of an invoice. It names
/// the payer too (checked against the invoice), for the payer's history.
public struct CancelInvoice: Sendable, Hashable, CanonicalCodable {
    public var invoice: Hash
    public var payer: PublicKey

    public init(invoice: Hash, payer: PublicKey) {
        self.invoice = invoice
        self.payer = payer
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(invoice, payer) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        invoice = try decoder.decodeHash()
        payer = try decoder.decode(PublicKey.self)
    }
}

/// `update_consent` (tag 23): a resident replaces their opt-in attributes. `analytics`
/// false withdraws consent: no attribute may be given, and the resident's payments leave
/// every aggregate from the block of this transaction on.
public struct UpdateConsent: Sendable, Hashable, CanonicalCodable {
    public var district: String?
    /// Age band index: 0 = under 20, 1 = 20s, … 6 = 80 and over.
    public var ageBand: UInt8?
    public var analytics: Bool

    public init(district: String?, ageBand: UInt8?, analytics: Bool) {
        self.district = district
        self.ageBand = ageBand
        self.analytics = analytics
    }

    /// Withdrawal: no attributes, no analytics.
    public static let withdrawn = UpdateConsent(district: nil, ageBand: nil, analytics: false)

    public func encode(to encoder: inout Encoder) { encoder.encode(district, ageBand, analytics) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        district = try decoder.decodeOptionalString(maxBytes: TransactionLimits.labelBytesMax)
        ageBand = try decoder.decodeOptionalUInt8()
        analytics = try decoder.decodeBool()
    }
}
