/// Limits on every variable-length field of a transaction, unit last.
public enum TransactionLimits {
    public static let chainIdBytesMax = 64
    public static let receiptIdBytesMax = 64
    public static let labelBytesMax = 32
    public static let cosignaturesMax = 4
    /// The largest encoded signed transaction a node accepts.
    public static let transactionBytesMax = 4096
}

/// An account role (design §2.2).
public enum Role: UInt8, Sendable, Hashable, CaseIterable, CanonicalTag {
    case resident = 1
    case merchant = 2
    /// An authority named in genesis (coin issuer, registrar, city, auditor).
    case authority = 3
    /// A key appointed to grant from programs (a participation platform): it holds no value
    /// and may sign only grants from the programs it is appointed to.
    case delegate = 4
    /// A resident's card account (issue 19, `docs/cards.md`): its key is held by the card
    /// custodian service, it pays merchants only, within the genesis `CardPolicy`'s caps.
    case card = 5

    /// Whether the account holds a resident's value: a resident's own account or the
    /// resident's card (coins that expire, points and thanks in lots).
    public var holdsResidentValue: Bool { self == .resident || self == .card }
    /// Someone who does not live in the city (a tourist, a commuter): charged and pays
    /// merchants only, under the genesis `visitorPolicy` caps (issue 21).
    case visitor = 6
    /// A public body's collection account (the city's tax account) or a registered club or
    /// NPO (issue 18): residents pay it with `pay_public` and standing orders; it redeems
    /// coins like a merchant. Its category is `public` or `club`.
    case organisation = 7

    public var name: String {
        switch self {
        case .resident: "resident"
        case .merchant: "merchant"
        case .authority: "authority"
        case .delegate: "delegate"
        case .card: "card"
        case .visitor: "visitor"
        case .organisation: "organisation"
        }
    }

    public static let tagName = "role"
}

/// How yen reached the coin issuer on a charge; each channel has its own bonus rate.
public enum ChargeChannel: UInt8, Sendable, Hashable, CaseIterable, CanonicalTag {
    /// Charged in the smartphone app.
    case app = 1
    /// Charged at one of the city's dedicated charge machines.
    case chargeMachine = 2

    public var name: String {
        switch self {
        case .app: "app"
        case .chargeMachine: "charge_machine"
        }
    }

    public static let tagName = "charge channel"
}

/// `register`: the registrar creates an account. Attributes are opt-in and never identify
/// a person: a salted hash of the resident ID (one resident, one account), district, age band.
public struct Register: Sendable, Hashable, CanonicalCodable {
    public var account: PublicKey
    public var role: Role
    /// Merchants only: supermarket, drugstore, electronics, restaurant, …
    public var merchantCategory: String?
    public var residentIdHash: Hash?
    public var district: String?
    /// Age band index: 0 = under 20, 1 = 20s, … 6 = 80 and over.
    public var ageBand: UInt8?

    public init(account: PublicKey, role: Role, merchantCategory: String? = nil, residentIdHash: Hash? = nil, district: String? = nil, ageBand: UInt8? = nil) {
        self.account = account
        self.role = role
        self.merchantCategory = merchantCategory
        self.residentIdHash = residentIdHash
        self.district = district
        self.ageBand = ageBand
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(account, role, merchantCategory, residentIdHash, district, ageBand) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        account = try decoder.decode(PublicKey.self)
        role = try decoder.decode(Role.self)
        merchantCategory = try decoder.decodeOptionalString(maxBytes: TransactionLimits.labelBytesMax)
        residentIdHash = try decoder.decodeOptionalHash()
        district = try decoder.decodeOptionalString(maxBytes: TransactionLimits.labelBytesMax)
        ageBand = try decoder.decodeOptionalUInt8()
    }
}

/// `charge`: the coin issuer mints coins for yen received, once per receipt id.
public struct Charge: Sendable, Hashable, CanonicalCodable {
    public var to: PublicKey
    public var amount: Amount
    public var channel: ChargeChannel
    public var receiptId: String

    public init(to: PublicKey, amount: Amount, channel: ChargeChannel, receiptId: String) {
        self.to = to
        self.amount = amount
        self.channel = channel
        self.receiptId = receiptId
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(to, amount, channel, receiptId) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        to = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        channel = try decoder.decode(ChargeChannel.self)
        receiptId = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
    }
}

/// `send` and `thank`: an amount from the signer to another resident. The two kinds carry
/// the same fields; the kind's tag says what moves (coins for `send`, thank-you points for
/// `thank`), as `freeze` and `unfreeze` share `AccountAction`.
public struct Transfer: Sendable, Hashable, CanonicalCodable {
    public var to: PublicKey
    public var amount: Amount

    public init(to: PublicKey, amount: Amount) {
        self.to = to
        self.amount = amount
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(to, amount) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        to = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
    }
}

/// `send`: coins from one resident to another.
public typealias Send = Transfer

/// `thank`: thank-you points from one resident to another.
public typealias Thank = Transfer

/// What a transaction does. The tag byte of each kind is fixed forever.
public enum TransactionBody: Sendable, Hashable, CanonicalCodable {
    case register(Register)
    case charge(Charge)
    case send(Send)
    case createProgram(CreateProgram)
    case grant(Grant)
    case pay(Pay)
    case thank(Thank)
    case redeem(Redeem)
    case refund(Refund)
    case freeze(AccountAction)
    case unfreeze(AccountAction)
    case recover(Recover)
    case appointDelegate(AppointDelegate)
    case revokeDelegate(RevokeDelegate)
    case setProgramTerms(SetProgramTerms)
    case topUpProgram(TopUpProgram)
    case closeProgram(CloseProgram)
    case payAuthorised(PayAuthorised)
    case payBusiness(PayBusiness)
    case issueInvoice(IssueInvoice)
    case payInvoice(PayInvoice)
    case cancelInvoice(CancelInvoice)
    case updateConsent(UpdateConsent)
    case setPremium(SetPremium)
    case chargeExtended(ChargeExtended)
    case payPublic(PayPublic)
    case authoriseStandingOrder(AuthoriseStandingOrder)
    case payInstalment(PayInstalment)
    case cancelStandingOrder(CancelStandingOrder)
    case setEventBonus(SetEventBonus)
    case setRebateTiers(SetRebateTiers)
    case govern(Govern)

    /// Each kind's name, its tag byte and its fields: the one table that `kind`, `tag` and
    /// the encoding read.
    private var parts: (kind: String, tag: UInt8, fields: any CanonicalEncodable) {
        switch self {
        case .register(let fields): ("register", 1, fields)
        case .charge(let fields): ("charge", 2, fields)
        case .send(let fields): ("send", 3, fields)
        case .createProgram(let fields): ("create_program", 4, fields)
        case .grant(let fields): ("grant", 5, fields)
        case .pay(let fields): ("pay", 6, fields)
        case .thank(let fields): ("thank", 7, fields)
        case .redeem(let fields): ("redeem", 8, fields)
        case .refund(let fields): ("refund", 9, fields)
        case .freeze(let fields): ("freeze", 10, fields)
        case .unfreeze(let fields): ("unfreeze", 11, fields)
        case .recover(let fields): ("recover", 12, fields)
        case .appointDelegate(let fields): ("appoint_delegate", 13, fields)
        case .revokeDelegate(let fields): ("revoke_delegate", 14, fields)
        case .setProgramTerms(let fields): ("set_program_terms", 15, fields)
        case .topUpProgram(let fields): ("top_up_program", 16, fields)
        case .closeProgram(let fields): ("close_program", 17, fields)
        case .payAuthorised(let fields): ("pay_authorised", 18, fields)
        case .payBusiness(let fields): ("pay_business", 19, fields)
        case .issueInvoice(let fields): ("issue_invoice", 20, fields)
        case .payInvoice(let fields): ("pay_invoice", 21, fields)
        case .cancelInvoice(let fields): ("cancel_invoice", 22, fields)
        case .updateConsent(let fields): ("update_consent", 23, fields)
        case .setPremium(let fields): ("set_premium", 27, fields)
        case .chargeExtended(let fields): ("charge_extended", 28, fields)
        case .payPublic(let fields): ("pay_public", 29, fields)
        case .authoriseStandingOrder(let fields): ("authorise_standing_order", 30, fields)
        case .payInstalment(let fields): ("pay_instalment", 31, fields)
        case .cancelStandingOrder(let fields): ("cancel_standing_order", 32, fields)
        case .setEventBonus(let fields): ("set_event_bonus", 33, fields)
        case .setRebateTiers(let fields): ("set_rebate_tiers", 34, fields)
        case .govern(let fields): ("govern", 24, fields)
        }
    }

    public var kind: String { parts.kind }

    public var tag: UInt8 { parts.tag }

    public func encode(to encoder: inout Encoder) {
        let parts = parts
        encoder.encode(parts.tag)
        parts.fields.encode(to: &encoder)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        switch try decoder.decodeUInt8() {
        case 1: self = .register(try decoder.decode(Register.self))
        case 2: self = .charge(try decoder.decode(Charge.self))
        case 3: self = .send(try decoder.decode(Send.self))
        case 4: self = .createProgram(try decoder.decode(CreateProgram.self))
        case 5: self = .grant(try decoder.decode(Grant.self))
        case 6: self = .pay(try decoder.decode(Pay.self))
        case 7: self = .thank(try decoder.decode(Thank.self))
        case 8: self = .redeem(try decoder.decode(Redeem.self))
        case 9: self = .refund(try decoder.decode(Refund.self))
        case 10: self = .freeze(try decoder.decode(AccountAction.self))
        case 11: self = .unfreeze(try decoder.decode(AccountAction.self))
        case 12: self = .recover(try decoder.decode(Recover.self))
        case 13: self = .appointDelegate(try decoder.decode(AppointDelegate.self))
        case 14: self = .revokeDelegate(try decoder.decode(RevokeDelegate.self))
        case 15: self = .setProgramTerms(try decoder.decode(SetProgramTerms.self))
        case 16: self = .topUpProgram(try decoder.decode(TopUpProgram.self))
        case 17: self = .closeProgram(try decoder.decode(CloseProgram.self))
        case 18: self = .payAuthorised(try decoder.decode(PayAuthorised.self))
        case 19: self = .payBusiness(try decoder.decode(PayBusiness.self))
        case 20: self = .issueInvoice(try decoder.decode(IssueInvoice.self))
        case 21: self = .payInvoice(try decoder.decode(PayInvoice.self))
        case 22: self = .cancelInvoice(try decoder.decode(CancelInvoice.self))
        case 23: self = .updateConsent(try decoder.decode(UpdateConsent.self))
        case 27: self = .setPremium(try decoder.decode(SetPremium.self))
        case 28: self = .chargeExtended(try decoder.decode(ChargeExtended.self))
        case 29: self = .payPublic(try decoder.decode(PayPublic.self))
        case 30: self = .authoriseStandingOrder(try decoder.decode(AuthoriseStandingOrder.self))
        case 31: self = .payInstalment(try decoder.decode(PayInstalment.self))
        case 32: self = .cancelStandingOrder(try decoder.decode(CancelStandingOrder.self))
        case 33: self = .setEventBonus(try decoder.decode(SetEventBonus.self))
        case 34: self = .setRebateTiers(try decoder.decode(SetRebateTiers.self))
        case 24: self = .govern(try decoder.decode(Govern.self))
        case let other: throw DecodingError(.invalidTag, "unknown transaction kind \(other)", offset: start)
        }
    }
}

/// The part of a transaction that is signed.
public struct Transaction: Sendable, Hashable, CanonicalCodable {
    public var chainId: String
    public var signer: PublicKey
    /// The signer's next nonce: 0 for its first transaction, then 1, 2, …
    public var nonce: UInt64
    public var body: TransactionBody

    public init(chainId: String, signer: PublicKey, nonce: UInt64, body: TransactionBody) {
        self.chainId = chainId
        self.signer = signer
        self.nonce = nonce
        self.body = body
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(chainId, signer, nonce, body) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        chainId = try decoder.decodeString(maxBytes: TransactionLimits.chainIdBytesMax)
        signer = try decoder.decode(PublicKey.self)
        nonce = try decoder.decodeUInt64()
        body = try decoder.decode(TransactionBody.self)
    }

    /// The bytes every signer of this transaction signs: the domain tag, then the encoding.
    public var signingBytes: [UInt8] { HashDomain.transaction.prefix + canonicalBytes }

    /// The transaction id: SHA-256 of the signing bytes. It does not cover signatures, so
    /// adding a co-signature does not change it.
    public var id: Hash { Hash.sha256(signingBytes) }

    /// Signs with the signer's key.
    public func signed(by key: PrivateKey, cosigners: [PrivateKey] = []) -> SignedTransaction {
        precondition(key.publicKey == signer, "the signing key must be the transaction's signer")
        let message = signingBytes
        let cosignatures = cosigners
            .map { Cosignature(signer: $0.publicKey, signature: $0.sign(message)) }
            .sorted { $0.signer < $1.signer }
        return SignedTransaction(transaction: self, signature: key.sign(message), cosignatures: cosignatures)
    }
}

/// A rejection of a transaction before or during execution, with a stable code.
/// Compares on the code only. Codes are listed in `docs/ledger-rules.md`.
public typealias TransactionError = CodedError<TransactionErrorCode>

/// The codes of `TransactionError`: the transaction, ledger and mempool rules.
public struct TransactionErrorCode: ErrorCode, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let malformed = Self(rawValue: "tx.malformed")
    public static let tooLarge = Self(rawValue: "tx.too_large")
    public static let wrongChain = Self(rawValue: "tx.wrong_chain")
    public static let badSignature = Self(rawValue: "tx.bad_signature")
    public static let badNonce = Self(rawValue: "tx.bad_nonce")
    public static let duplicate = Self(rawValue: "tx.duplicate")
    /// The nonce is above the account's next nonce and no pending transaction fills the gap.
    public static let nonceGap = Self(rawValue: "tx.nonce_gap")
    /// A pending transaction displaced by another of the same account with the same nonce.
    public static let replaced = Self(rawValue: "tx.replaced")
    public static let unknownAccount = Self(rawValue: "ledger.unknown_account")
    public static let accountExists = Self(rawValue: "ledger.account_exists")
    public static let residentAlreadyRegistered = Self(rawValue: "ledger.resident_already_registered")
    public static let notAuthorised = Self(rawValue: "ledger.not_authorised")
    public static let invalidAmount = Self(rawValue: "ledger.invalid_amount")
    public static let insufficientBalance = Self(rawValue: "ledger.insufficient_balance")
    public static let holderCapExceeded = Self(rawValue: "ledger.holder_cap_exceeded")
    public static let sendLimitExceeded = Self(rawValue: "ledger.send_limit_exceeded")
    public static let monthlySendLimitExceeded = Self(rawValue: "ledger.monthly_send_limit_exceeded")
    public static let duplicateReceipt = Self(rawValue: "ledger.duplicate_receipt")
    public static let frozen = Self(rawValue: "ledger.frozen")
    public static let wrongRole = Self(rawValue: "ledger.wrong_role")
    public static let selfTransfer = Self(rawValue: "ledger.self_transfer")
    public static let invalidAttribute = Self(rawValue: "ledger.invalid_attribute")
    public static let overflow = Self(rawValue: "ledger.overflow")
    public static let notFrozen = Self(rawValue: "ledger.not_frozen")
    public static let unknownProgram = Self(rawValue: "ledger.unknown_program")
    public static let invalidProgram = Self(rawValue: "ledger.invalid_program")
    public static let programBudgetExhausted = Self(rawValue: "ledger.program_budget_exhausted")
    public static let perResidentCapExceeded = Self(rawValue: "ledger.per_resident_cap_exceeded")
    public static let nothingToRedeem = Self(rawValue: "ledger.nothing_to_redeem")
    public static let refundLimitExceeded = Self(rawValue: "ledger.refund_limit_exceeded")
    public static let missingCosignature = Self(rawValue: "ledger.missing_cosignature")
    public static let tooManyLots = Self(rawValue: "ledger.too_many_lots")
    /// The program was closed by its issuer: no grants, rebates, top-ups or new terms.
    public static let programClosed = Self(rawValue: "ledger.program_closed")
    /// The block time is outside the program's period (before its start or from its end).
    public static let programNotActive = Self(rawValue: "ledger.program_not_active")
    /// An appointment whose terms break a rule (zero or over the program's budget or cap…).
    public static let invalidDelegation = Self(rawValue: "ledger.invalid_delegation")
    /// The signer is not a delegate of the program, or its appointment was revoked or expired.
    public static let delegateInactive = Self(rawValue: "ledger.delegate_inactive")
    /// The grant would take the delegate over the budget it was appointed with.
    public static let delegateBudgetExhausted = Self(rawValue: "ledger.delegate_budget_exhausted")
    /// The grant would take the delegate over its per-day cap (Japan-time calendar day).
    public static let delegateDailyCapExceeded = Self(rawValue: "ledger.delegate_daily_cap_exceeded")
    /// `pay_authorised`: the amount is over the cap the payer authorised.
    public static let authorisationCapExceeded = Self(rawValue: "ledger.authorisation_cap_exceeded")
    /// `pay_authorised`: the block time is at or past the authorisation's expiry.
    public static let authorisationExpired = Self(rawValue: "ledger.authorisation_expired")
    /// `pay_authorised`: the expiry is further after the block time than the ledger allows.
    public static let authorisationTooLong = Self(rawValue: "ledger.authorisation_too_long")
    /// `pay_authorised`: this payer's authorisation nonce was already settled.
    public static let authorisationUsed = Self(rawValue: "ledger.authorisation_used")
    /// `pay_authorised`: the authorisation names another merchant than the one collecting.
    public static let authorisationWrongMerchant = Self(rawValue: "ledger.authorisation_wrong_merchant")
    /// `pay_authorised`: the payer's signature on the authorisation does not verify.
    public static let authorisationBadSignature = Self(rawValue: "ledger.authorisation_bad_signature")
    /// `pay_authorised`: the authorisation was signed for another chain.
    public static let authorisationWrongChain = Self(rawValue: "ledger.authorisation_wrong_chain")
    /// `register` of a card on a chain whose genesis has no `cardPolicy`.
    public static let cardNotEnabled = Self(rawValue: "ledger.card_not_enabled")
    /// `register` of a card without the resident-ID hash that ties it to one resident.
    public static let cardNeedsResidentId = Self(rawValue: "ledger.card_needs_resident_id")
    /// A charge or a send would take a card's coins over the card holder cap.
    public static let cardHolderCapExceeded = Self(rawValue: "ledger.card_holder_cap_exceeded")
    /// A card's payment is over the per-payment cap of the genesis card policy.
    public static let cardPaymentCapExceeded = Self(rawValue: "ledger.card_payment_cap_exceeded")
    /// A card's payment would take its Japan-time day's spending over the per-day cap.
    public static let cardDailyCapExceeded = Self(rawValue: "ledger.card_daily_cap_exceeded")
    /// A card signed a send or a thank: a card pays merchants only.
    public static let cardCannotSend = Self(rawValue: "ledger.card_cannot_send")
    /// `pay_invoice` / `cancel_invoice`: no invoice has this id.
    public static let unknownInvoice = Self(rawValue: "ledger.unknown_invoice")
    /// `pay_invoice`: the signer is not the payer the invoice names.
    public static let notInvoicePayer = Self(rawValue: "ledger.not_invoice_payer")
    /// `cancel_invoice`: the signer is not the invoice's issuer.
    public static let notInvoiceIssuer = Self(rawValue: "ledger.not_invoice_issuer")
    /// `pay_invoice` / `cancel_invoice`: the invoice was cancelled.
    public static let invoiceCancelled = Self(rawValue: "ledger.invoice_cancelled")
    /// `pay_invoice` / `cancel_invoice`: the invoice is paid in full.
    public static let invoiceSettled = Self(rawValue: "ledger.invoice_settled")
    /// `pay_invoice`: the amount is more than what is still open on the invoice.
    public static let invoiceOverpayment = Self(rawValue: "ledger.invoice_overpayment")
    /// `issue_invoice`: the due date is not after the block time.
    public static let invoiceDueInPast = Self(rawValue: "ledger.invoice_due_in_past")
    /// `issue_invoice`: the issuer already used this invoice reference.
    public static let duplicateInvoiceReference = Self(rawValue: "ledger.duplicate_invoice_reference")
    /// `register` of a visitor on a chain whose genesis has no `visitorPolicy`.
    public static let visitorsNotEnabled = Self(rawValue: "ledger.visitors_not_enabled")
    /// A visitor account past its expiry signs, or is charged.
    public static let accountExpired = Self(rawValue: "ledger.account_expired")
    /// A visitor's payment over the policy's per-payment limit.
    public static let visitorLimitExceeded = Self(rawValue: "ledger.visitor_limit_exceeded")
    /// `update_consent` that changes nothing.
    public static let consentUnchanged = Self(rawValue: "ledger.consent_unchanged")
    public static let mempoolFull = Self(rawValue: "mempool.full")
    public static let accountQueueFull = Self(rawValue: "mempool.account_queue_full")
    /// Admission control: the network already holds what it can commit within the latency
    /// target; retry after the time the answer gives.
    public static let overloaded = Self(rawValue: "mempool.overloaded")
    /// The node is syncing blocks it is missing and cannot judge a transaction on its stale
    /// state; retry after the time the answer gives, or at another node. Nothing was kept.
    public static let catchingUp = Self(rawValue: "node.catching_up")
    /// The transaction waited in the mempool longer than its time-to-live without committing.
    public static let expiredInMempool = Self(rawValue: "mempool.expired")
}
