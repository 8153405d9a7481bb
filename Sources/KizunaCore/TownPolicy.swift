/// Genesis options of issue 18: a mandatory resident-ID hash (section 03) and charge channels
/// defined in genesis data (section 04). Both are optional sections appended to the genesis
/// encoding only when present, so a genesis without them hashes as before.

/// Registration rules (genesis `registrationPolicy`, section tag 03).
public struct RegistrationPolicy: Sendable, Hashable, Codable, CanonicalCodable {
    /// Every resident's registration must carry the salted resident-ID hash, so one resident
    /// has one account (`ledger.resident_id_required`).
    public var residentIdRequired: Bool

    public init(residentIdRequired: Bool) { self.residentIdRequired = residentIdRequired }

    public static let genesisTag: UInt8 = 0x03

    public func encode(to encoder: inout Encoder) { encoder.encode(residentIdRequired) }

    public init(from decoder: inout Decoder) throws(DecodingError) { residentIdRequired = try decoder.decodeBool() }
}

/// A way yen reaches the coin issuer on a charge, with its bonus rate (genesis
/// `chargeChannels`, section tag 04): the bank-transfer channel of a city that pays 3% for it.
public struct ChargeChannelDefinition: Sendable, Hashable, Codable, CanonicalCodable {
    /// The byte a charge names (1 = app and 2 = charge machine are always defined).
    public var id: UInt8
    /// a–z, 0–9 and '_', 1–32 bytes.
    public var name: String
    /// Bonus points on the charge from the charge-bonus program (100 = 1%).
    public var bonusBasisPoints: UInt32

    public init(id: UInt8, name: String, bonusBasisPoints: UInt32) {
        self.id = id
        self.name = name
        self.bonusBasisPoints = bonusBasisPoints
    }

    public static let genesisTag: UInt8 = 0x04
    public static let channelsMax = 16

    public func encode(to encoder: inout Encoder) { encoder.encode(id, name, bonusBasisPoints) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        id = try decoder.decodeUInt8()
        name = try decoder.decodeString(maxBytes: TransactionLimits.labelBytesMax)
        bonusBasisPoints = try decoder.decodeUInt32()
    }

    /// The channels of a chain whose genesis names none: the two of `ChargeChannel`, with the
    /// coin policy's rates.
    public static func defaults(coin: AssetPolicy) -> [ChargeChannelDefinition] {
        ChargeChannel.allCases.map { ChargeChannelDefinition(id: $0.rawValue, name: $0.name, bonusBasisPoints: coin.chargeBonusBasisPoints(for: $0)) }
    }

    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_".utf8)

    /// The reason a genesis channel list is refused, or nil: ids ascending and distinct,
    /// including 1 and 2 (the ids a `charge` names), names distinct, rates at most 100%.
    public static func problem(_ channels: [ChargeChannelDefinition]) -> String? {
        guard (1...channelsMax).contains(channels.count) else { return "chargeChannels: 1 to \(channelsMax) channels" }
        for (index, channel) in channels.enumerated() {
            guard channel.id > 0, index == 0 || channels[index - 1].id < channel.id else {
                return "chargeChannels: ids must be 1–255, ascending, without duplicates"
            }
            guard (1...TransactionLimits.labelBytesMax).contains(channel.name.utf8.count), channel.name.utf8.allSatisfy({ nameCharacters.contains($0) }) else {
                return "chargeChannels: channel \(channel.id)'s name must be 1–32 characters of a–z, 0–9 and '_'"
            }
            guard !channels[..<index].contains(where: { $0.name == channel.name }) else { return "chargeChannels: the name '\(channel.name)' repeats" }
            guard channel.bonusBasisPoints <= 10_000 else { return "chargeChannels: channel \(channel.name)'s bonus may not exceed 10000 basis points (100%)" }
        }
        for id in ChargeChannel.allCases.map(\.rawValue) where !channels.contains(where: { $0.id == id }) {
            return "chargeChannels: channel \(id) must be defined (a charge names channels 1 and 2)"
        }
        return nil
    }
}

extension Genesis {
    /// The charge channels in force: the genesis list, or the two defaults.
    public var effectiveChargeChannels: [ChargeChannelDefinition] { chargeChannels ?? ChargeChannelDefinition.defaults(coin: coin) }

    /// The channel with `id`, or nil when this chain does not define it.
    public func chargeChannel(_ id: UInt8) -> ChargeChannelDefinition? {
        if let chargeChannels { return chargeChannels.first { $0.id == id } }
        return ChargeChannel(rawValue: id).map { ChargeChannelDefinition(id: id, name: $0.name, bonusBasisPoints: coin.chargeBonusBasisPoints(for: $0)) }
    }

    /// Whether a resident's registration must carry the resident-ID hash.
    public var residentIdRequired: Bool { registrationPolicy?.residentIdRequired ?? false }

    /// The optional sections of issue 18, appended after the card and visitor policies.
    func encodeTownSections(_ encoder: inout Encoder) {
        if let registrationPolicy { encoder.encode(RegistrationPolicy.genesisTag, registrationPolicy) }
        if let chargeChannels { encoder.encode(ChargeChannelDefinition.genesisTag, chargeChannels) }
    }
}

/// The codes of issue 18's premium sales, event bonuses, public payments, standing orders
/// and registration policy (docs/ledger-rules.md).
extension TransactionErrorCode {
    /// `charge_extended`: the channel is not one the genesis defines.
    public static let unknownChannel = Self(rawValue: "ledger.unknown_channel")
    /// `set_premium`: the rule is not exactly one of a fixed amount or a rate per unit, or the
    /// program cannot hold a premium (not points).
    public static let invalidPremium = Self(rawValue: "ledger.invalid_premium")
    /// `charge_extended`: the program it names has no premium rule.
    public static let notPremiumProgram = Self(rawValue: "ledger.not_premium_program")
    /// `set_event_bonus`: the program cannot give the bonus (not points), or the amount is
    /// over its per-resident cap.
    public static let invalidEventBonus = Self(rawValue: "ledger.invalid_event_bonus")
    /// `register` of a resident without the resident-ID hash on a chain whose genesis
    /// requires it.
    public static let residentIdRequired = Self(rawValue: "ledger.resident_id_required")
    /// `pay_public` / `authorise_standing_order`: a tax to a club, or an organisation that is
    /// not a public body.
    public static let invalidPurpose = Self(rawValue: "ledger.invalid_purpose")
    /// `pay_instalment` / `cancel_standing_order`: no standing order has this id (for this
    /// payer or payee).
    public static let unknownStandingOrder = Self(rawValue: "ledger.unknown_standing_order")
    /// `authorise_standing_order`: a zero cap, a bad schedule, or a payee that cannot collect.
    public static let invalidStandingOrder = Self(rawValue: "ledger.invalid_standing_order")
    /// `pay_instalment` / `cancel_standing_order`: the order was cancelled or every
    /// instalment is paid.
    public static let standingOrderInactive = Self(rawValue: "ledger.standing_order_inactive")
    /// `pay_instalment`: the next instalment is not due yet.
    public static let instalmentNotDue = Self(rawValue: "ledger.instalment_not_due")
    /// `pay_instalment`: the amount is over the cap the payer authorised.
    public static let instalmentCapExceeded = Self(rawValue: "ledger.instalment_cap_exceeded")
}
