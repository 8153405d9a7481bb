public import KizunaCore

/// The keys of the ledger state (column family `state`). Each key starts with a one-byte
/// prefix naming what it holds; numbers are big-endian so keys sort in numeric order.
public enum StateKey {
    static let account: UInt8 = 0x01
    static let residentId: UInt8 = 0x02
    static let receipt: UInt8 = 0x03
    static let supply: UInt8 = 0x04
    static let monthlySent: UInt8 = 0x05
    static let lots: UInt8 = 0x06
    public static let lotExpiryPrefix: UInt8 = 0x07
    public static let coinExpiryPrefix: UInt8 = 0x08
    public static let programPrefix: UInt8 = 0x09
    static let nextProgramId: UInt8 = 0x0A
    static let programResident: UInt8 = 0x0B
    static let rebateMonth: UInt8 = 0x0C
    public static let receivablePrefix: UInt8 = 0x0D
    public static let settlementPrefix: UInt8 = 0x0E
    static let periodMinted: UInt8 = 0x0F
    static let periodRefunded: UInt8 = 0x10
    static let baseDateUnused: UInt8 = 0x11
    static let currentBasePeriod: UInt8 = 0x12
    static let rebatePrograms: UInt8 = 0x13
    static let settlementCount: UInt8 = 0x14
    public static let delegatePrefix: UInt8 = 0x15
    static let delegateResident: UInt8 = 0x16
    static let programTerms: UInt8 = 0x17
    static let programToppedUp: UInt8 = 0x18
    static let usedAuthorisation: UInt8 = 0x19
    public static let authorisationExpiryPrefix: UInt8 = 0x1A
    public static let invoicePrefix: UInt8 = 0x1D
    static let invoiceReference: UInt8 = 0x1E
    public static let partyInvoicePrefix: UInt8 = 0x1F
    public static let visitorExpiryPrefix: UInt8 = 0x20
    public static let consentChangePrefix: UInt8 = 0x21
    public static let consentWithdrawnPrefix: UInt8 = 0x22

    /// `0x01 ‖ public key` → `AccountState`.
    public static func account(_ key: PublicKey) -> [UInt8] { [account] + key.bytes }
    /// `0x02 ‖ resident-ID hash` → the public key registered for that resident.
    public static func residentId(_ hash: Hash) -> [UInt8] { [residentId] + hash.bytes }
    /// `0x03 ‖ receipt id` → the id of the charge that used it (charges are idempotent).
    public static func receipt(_ receiptId: String) -> [UInt8] { [receipt] + Array(receiptId.utf8) }
    /// `0x04 ‖ asset` → `SupplyState`.
    public static func supply(_ asset: Asset) -> [UInt8] { [supply, asset.rawValue] }
    /// `0x05 ‖ public key ‖ asset ‖ yyyymm (4 bytes)` → amount sent in that Japan-time month.
    public static func monthlySent(_ key: PublicKey, asset: Asset, yearMonth: UInt32) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(monthlySent)
        encoder.encodeFixed(key.bytes)
        encoder.encode(asset)
        encoder.encode(yearMonth)
        return encoder.bytes
    }
}

extension StateKey {
    static func encode(_ parts: (inout Encoder) -> Void) -> [UInt8] {
        var encoder = Encoder()
        parts(&encoder)
        return encoder.bytes
    }

    /// `0x06 ‖ public key ‖ asset` → `LotList` (points or thanks held, sorted by expiry).
    public static func lots(_ key: PublicKey, _ asset: Asset) -> [UInt8] { [lots] + key.bytes + [asset.rawValue] }
    /// `0x07 ‖ expires-at ‖ public key ‖ asset` → 0x01: the index that makes expiry cheap.
    public static func lotExpiry(_ expiresAt: UInt64, _ key: PublicKey, _ asset: Asset) -> [UInt8] {
        encode { $0.encode(lotExpiryPrefix); $0.encode(expiresAt); $0.encodeFixed(key.bytes); $0.encode(asset) }
    }
    /// `0x08 ‖ expires-at ‖ public key` → 0x01: when a resident's coins expire.
    public static func coinExpiry(_ expiresAt: UInt64, _ key: PublicKey) -> [UInt8] {
        encode { $0.encode(coinExpiryPrefix); $0.encode(expiresAt); $0.encodeFixed(key.bytes) }
    }
    /// `0x09 ‖ program id` → `ProgramState`.
    public static func program(_ id: UInt64) -> [UInt8] { encode { $0.encode(programPrefix); $0.encode(id) } }
    /// `0x0A` → the id the next program gets.
    public static let nextProgramIdKey: [UInt8] = [nextProgramId]
    /// `0x0B ‖ program id ‖ public key` → total granted by the program to the account.
    public static func programResident(_ program: UInt64, _ key: PublicKey) -> [UInt8] {
        encode { $0.encode(programResident); $0.encode(program); $0.encodeFixed(key.bytes) }
    }
    /// `0x0C ‖ program id ‖ public key ‖ yyyymm` → rebate received in that Japan-time month.
    public static func rebateMonth(_ program: UInt64, _ key: PublicKey, _ yearMonth: UInt32) -> [UInt8] {
        encode { $0.encode(rebateMonth); $0.encode(program); $0.encodeFixed(key.bytes); $0.encode(yearMonth) }
    }
    /// `0x0D ‖ merchant ‖ funder` → points received by the merchant that the funder owes.
    public static func receivable(_ merchant: PublicKey, _ funder: PublicKey) -> [UInt8] { [receivablePrefix] + merchant.bytes + funder.bytes }
    /// `0x0E ‖ merchant ‖ sequence` → `SettlementRecord`.
    public static func settlement(_ merchant: PublicKey, _ sequence: UInt64) -> [UInt8] {
        encode { $0.encode(settlementPrefix); $0.encodeFixed(merchant.bytes); $0.encode(sequence) }
    }
    /// `0x14 ‖ merchant` → number of settlements so far.
    public static func settlementCount(_ merchant: PublicKey) -> [UInt8] { [settlementCount] + merchant.bytes }
    /// `0x0F ‖ base period` → coins minted in that base period.
    public static func periodMinted(_ period: UInt32) -> [UInt8] { encode { $0.encode(periodMinted); $0.encode(period) } }
    /// `0x10 ‖ base period` → coins refunded in that period for reasons the law limits.
    public static func periodRefunded(_ period: UInt32) -> [UInt8] { encode { $0.encode(periodRefunded); $0.encode(period) } }
    /// `0x11 ‖ base period` → coins outstanding at the end of the base date that closes it.
    public static func baseDateUnused(_ period: UInt32) -> [UInt8] { encode { $0.encode(baseDateUnused); $0.encode(period) } }
    /// `0x12` → the statutory base period of the last executed block (see `LedgerCalendar`).
    public static let currentBasePeriodKey: [UInt8] = [currentBasePeriod]
    /// `0x13` → the ids of programs with a rebate rule, ascending.
    public static let rebateProgramsKey: [UInt8] = [rebatePrograms]
    /// `0x15 ‖ program id ‖ delegate key` → `DelegateState`; a prefix scan on `0x15 ‖ program
    /// id` lists a program's delegates in key order.
    public static func delegate(_ program: UInt64, _ key: PublicKey) -> [UInt8] {
        encode { $0.encode(delegatePrefix); $0.encode(program); $0.encodeFixed(key.bytes) }
    }
    /// `0x15 ‖ program id`: the prefix of a program's delegates.
    public static func delegates(of program: UInt64) -> [UInt8] { encode { $0.encode(delegatePrefix); $0.encode(program) } }
    /// `0x17 ‖ program id` → `ProgramTermsState` (period, merchants, closure).
    public static func programTerms(_ program: UInt64) -> [UInt8] { encode { $0.encode(programTerms); $0.encode(program) } }
    /// `0x18 ‖ program id` → total added to the program's budget by top-ups.
    public static func programToppedUp(_ program: UInt64) -> [UInt8] { encode { $0.encode(programToppedUp); $0.encode(program) } }
    /// `0x19 ‖ payer ‖ authorisation nonce` → the authorisation's expiry: a settled
    /// customer-presented authorisation, kept until it expires (then pruned by beginBlock).
    public static func usedAuthorisation(_ payer: PublicKey, _ nonce: [UInt8]) -> [UInt8] {
        encode { $0.encode(usedAuthorisation); $0.encodeFixed(payer.bytes); $0.encodeFixed(nonce) }
    }
    /// `0x1A ‖ expires-at ‖ payer ‖ authorisation nonce` → 0x01: the index that prunes
    /// `usedAuthorisation` records once they can no longer matter.
    public static func authorisationExpiry(_ expiresAt: UInt64, _ payer: PublicKey, _ nonce: [UInt8]) -> [UInt8] {
        encode { $0.encode(authorisationExpiryPrefix); $0.encode(expiresAt); $0.encodeFixed(payer.bytes); $0.encodeFixed(nonce) }
    }
    /// `0x1D ‖ invoice id` → `InvoiceState` (the id is the `issue_invoice` transaction's).
    public static func invoice(_ id: Hash) -> [UInt8] { [invoicePrefix] + id.bytes }
    /// `0x1E ‖ issuer ‖ reference` → the invoice id: one invoice per issuer and reference.
    public static func invoiceReference(_ issuer: PublicKey, _ reference: String) -> [UInt8] {
        [invoiceReference] + issuer.bytes + Array(reference.utf8)
    }
    /// `0x1F ‖ party ‖ invoice id` → 0x01 (issued) or 0x02 (to pay): an account's invoices.
    public static func partyInvoice(_ party: PublicKey, _ id: Hash) -> [UInt8] { [partyInvoicePrefix] + party.bytes + id.bytes }
    /// `0x20 ‖ visitor key` → the instant (UTC ms) from which the visitor account is expired.
    public static func visitorExpiry(_ key: PublicKey) -> [UInt8] { [visitorExpiryPrefix] + key.bytes }
    /// `0x21 ‖ resident ‖ height` → `ConsentChange`: the attributes in force before the
    /// resident's consent changed at that height.
    public static func consentChange(_ key: PublicKey, height: UInt64) -> [UInt8] {
        encode { $0.encode(consentChangePrefix); $0.encodeFixed(key.bytes); $0.encode(height) }
    }
    /// `0x22 ‖ resident` → the height from which the resident withdrew analytics consent
    /// (absent: consenting, the state every resident is registered in).
    public static func consentWithdrawn(_ key: PublicKey) -> [UInt8] { [consentWithdrawnPrefix] + key.bytes }
    /// `0x16 ‖ program id ‖ delegate key ‖ resident key` → total the delegate granted the resident.
    public static func delegateResident(_ program: UInt64, _ delegate: PublicKey, _ resident: PublicKey) -> [UInt8] {
        encode { $0.encode(delegateResident); $0.encode(program); $0.encodeFixed(delegate.bytes); $0.encodeFixed(resident.bytes) }
    }
}

/// An account in the state.
public struct AccountState: Sendable, Hashable, CanonicalCodable {
    public var role: Role
    public var merchantCategory: String?
    public var residentIdHash: Hash?
    public var district: String?
    public var ageBand: UInt8?
    /// The nonce the account's next transaction must carry.
    public var nonce: UInt64
    public var frozen: Bool
    public var coin: Amount
    public var point: Amount
    public var thanks: Amount
    /// Block timestamp of the last change to the coin balance (coin expiry counts from it).
    public var coinChangedAt: UInt64
    public var registeredAt: UInt64
    /// Set when the account was recovered to a new key (it stays frozen and empty).
    public var successor: PublicKey?

    public init(role: Role, registeredAt: UInt64) {
        self.role = role
        self.nonce = 0
        self.frozen = false
        self.coin = 0
        self.point = 0
        self.thanks = 0
        self.coinChangedAt = registeredAt
        self.registeredAt = registeredAt
    }

    public func balance(_ asset: Asset) -> Amount {
        switch asset {
        case .coin: coin
        case .point: point
        case .thanks: thanks
        }
    }

    public mutating func setBalance(_ asset: Asset, _ amount: Amount) {
        switch asset {
        case .coin: coin = amount
        case .point: point = amount
        case .thanks: thanks = amount
        }
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(role, merchantCategory, residentIdHash, district, ageBand, nonce, frozen, coin, point, thanks, coinChangedAt, registeredAt, successor) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        role = try decoder.decode(Role.self)
        merchantCategory = try decoder.decodeOptionalString(maxBytes: TransactionLimits.labelBytesMax)
        residentIdHash = try decoder.decodeOptionalHash()
        district = try decoder.decodeOptionalString(maxBytes: TransactionLimits.labelBytesMax)
        ageBand = try decoder.decodeOptionalUInt8()
        nonce = try decoder.decodeUInt64()
        frozen = try decoder.decodeBool()
        coin = try decoder.decodeUInt64()
        point = try decoder.decodeUInt64()
        thanks = try decoder.decodeUInt64()
        coinChangedAt = try decoder.decodeUInt64()
        registeredAt = try decoder.decodeUInt64()
        successor = try decoder.decodeOptional(PublicKey.self)
    }
}

/// Where an asset's value came from and went (design §2.4):
/// minted − redeemed − refunded − expired = Σ balances.
public struct SupplyState: Sendable, Hashable, CanonicalCodable {
    public var minted: Amount = 0
    public var redeemed: Amount = 0
    public var refunded: Amount = 0
    public var expired: Amount = 0

    public init() {}

    /// What is still held by accounts, or nil if the counters are inconsistent.
    public var outstanding: Amount? {
        minted.subtracting(redeemed)?.subtracting(refunded)?.subtracting(expired)
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(minted, redeemed, refunded, expired) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        minted = try decoder.decodeUInt64()
        redeemed = try decoder.decodeUInt64()
        refunded = try decoder.decodeUInt64()
        expired = try decoder.decodeUInt64()
    }
}
