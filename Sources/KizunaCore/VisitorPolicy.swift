/// The caps of `visitor` accounts (issue 21): people who do not live in the city (tourists,
/// commuters) and may only be charged and pay merchants. Named in genesis
/// (`visitorPolicy`); a chain without one registers no visitors
/// (`ledger.visitors_not_enabled`). Amounts in yen, like `AssetPolicy`.
public struct VisitorPolicy: Sendable, Hashable, Codable, CanonicalCodable {
    /// The most coins a visitor may hold (at most the coin policy's holder cap).
    public var holderCapYen: UInt64
    /// The largest single payment a visitor may make.
    public var paymentLimitPerTransactionYen: UInt64
    /// Days after registration from which a visitor account is expired (refused as signer
    /// and as a recipient; its coins stay refundable). 0: visitor accounts do not expire.
    public var accountLifetimeDays: UInt32

    public init(holderCapYen: UInt64, paymentLimitPerTransactionYen: UInt64, accountLifetimeDays: UInt32) {
        self.holderCapYen = holderCapYen
        self.paymentLimitPerTransactionYen = paymentLimitPerTransactionYen
        self.accountLifetimeDays = accountLifetimeDays
    }

    /// The longest lifetime a genesis may set: ten years.
    public static let accountLifetimeDaysMax: UInt32 = 3_650

    /// When a visitor registered at `registeredAt` expires (UTC milliseconds); nil: never.
    public func expiry(registeredAt: UInt64) -> UInt64? {
        guard accountLifetimeDays > 0 else { return nil }
        let (sum, overflow) = registeredAt.addingReportingOverflow(UInt64(accountLifetimeDays) * 86_400_000)
        return overflow ? UInt64.max : sum
    }

    /// The reason this policy is refused beside `coin`, or nil.
    public func problem(coin: AssetPolicy) -> String? {
        guard holderCapYen > 0, holderCapYen <= coin.holderCapYen else {
            return "visitorPolicy: holderCapYen must be 1 to the coin holder cap (\(coin.holderCapYen))"
        }
        guard paymentLimitPerTransactionYen > 0, paymentLimitPerTransactionYen <= holderCapYen else {
            return "visitorPolicy: paymentLimitPerTransactionYen must be 1 to holderCapYen (\(holderCapYen))"
        }
        guard accountLifetimeDays <= VisitorPolicy.accountLifetimeDaysMax else {
            return "visitorPolicy: accountLifetimeDays must be 0 (no expiry) to \(VisitorPolicy.accountLifetimeDaysMax)"
        }
        return nil
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(holderCapYen, paymentLimitPerTransactionYen, accountLifetimeDays) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        holderCapYen = try decoder.decodeUInt64()
        paymentLimitPerTransactionYen = try decoder.decodeUInt64()
        accountLifetimeDays = try decoder.decodeUInt32()
    }
}
