public import KizunaCore

/// The keys of the ledger state (column family `state`). Each key starts with a one-byte
/// prefix naming what it holds; numbers are big-endian so keys sort in numeric order.
public enum StateKey {
    static let account: UInt8 = 0x01
    static let residentId: UInt8 = 0x02
    static let receipt: UInt8 = 0x03
    static let supply: UInt8 = 0x04
    static let monthlySent: UInt8 = 0x05

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

    public func encode(to encoder: inout Encoder) {
        encoder.encode(role)
        encoder.encode(merchantCategory)
        encoder.encode(residentIdHash)
        encoder.encode(district)
        encoder.encode(ageBand)
        encoder.encode(nonce)
        encoder.encode(frozen)
        encoder.encode(coin)
        encoder.encode(point)
        encoder.encode(thanks)
        encoder.encode(coinChangedAt)
        encoder.encode(registeredAt)
    }

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

    public func encode(to encoder: inout Encoder) {
        encoder.encode(minted)
        encoder.encode(redeemed)
        encoder.encode(refunded)
        encoder.encode(expired)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        minted = try decoder.decodeUInt64()
        redeemed = try decoder.decodeUInt64()
        refunded = try decoder.decodeUInt64()
        expired = try decoder.decodeUInt64()
    }
}
