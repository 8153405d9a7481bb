/// The genesis policy of card accounts (issue 19, `docs/cards.md`): residents without a
/// smartphone pay with a card the store scans; the card's key is held by the custodian service,
/// so the ledger bounds what a card (and therefore a lost card, a guessed PIN or a compromised
/// custodian) can spend. Optional in genesis: without it the ledger registers no card.
///
/// Wire form (appended to `Genesis.canonicalBytes` as `01 ‖ CardPolicy` when present):
/// `u64 holderCapYen ‖ u64 perPaymentCapYen ‖ u64 perDayCapYen`.
public struct CardPolicy: Sendable, Hashable, Codable, CanonicalCodable {
    /// The most coins a card may hold (lower than the coin holder cap: a card is a bearer
    /// object that can be lost).
    public var holderCapYen: UInt64
    /// The largest single payment a card may make.
    public var perPaymentCapYen: UInt64
    /// The most a card may pay in one Japan-time calendar day, across all merchants and
    /// terminals.
    public var perDayCapYen: UInt64

    public init(holderCapYen: UInt64, perPaymentCapYen: UInt64, perDayCapYen: UInt64) {
        self.holderCapYen = holderCapYen
        self.perPaymentCapYen = perPaymentCapYen
        self.perDayCapYen = perDayCapYen
    }

    /// The policy `kizuna genesis` suggests: ¥30,000 held, ¥10,000 a payment, ¥20,000 a day.
    public static let suggested = CardPolicy(holderCapYen: 30_000, perPaymentCapYen: 10_000, perDayCapYen: 20_000)

    /// The tag that precedes the policy in `Genesis.canonicalBytes`.
    public static let genesisTag: UInt8 = 0x01

    public func encode(to encoder: inout Encoder) { encoder.encode(holderCapYen, perPaymentCapYen, perDayCapYen) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        holderCapYen = try decoder.decodeUInt64()
        perPaymentCapYen = try decoder.decodeUInt64()
        perDayCapYen = try decoder.decodeUInt64()
    }

    /// Why the policy cannot be used with a coin policy, or nil.
    public func problem(coin: AssetPolicy) -> String? {
        guard holderCapYen > 0, perPaymentCapYen > 0, perDayCapYen > 0 else {
            return "cardPolicy: every cap must be at least ¥1"
        }
        guard holderCapYen <= coin.holderCapYen else {
            return "cardPolicy: the card holder cap ¥\(holderCapYen) is above the coin holder cap ¥\(coin.holderCapYen)"
        }
        guard perPaymentCapYen <= perDayCapYen else {
            return "cardPolicy: the per-payment cap ¥\(perPaymentCapYen) exceeds the per-day cap ¥\(perDayCapYen)"
        }
        return nil
    }
}
