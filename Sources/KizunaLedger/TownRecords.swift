public import KizunaCore

/// A premium sale's rule and what was sold under it (issue 18): the paid yen of the charges
/// that named the program (coins, in the unused balance like any charge) and the premium
/// minted for them (points of the program, never paid-in value).
public struct PremiumState: Sendable, Hashable, CanonicalCodable {
    public var rule: PremiumRule
    /// How many charges bought into the sale.
    public var charges: UInt64 = 0
    public var paidYen: Amount = 0
    public var premiumYen: Amount = 0

    public init(rule: PremiumRule) { self.rule = rule }

    public func encode(to encoder: inout Encoder) { encoder.encode(rule, charges, paidYen, premiumYen) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        rule = try decoder.decode(PremiumRule.self)
        charges = try decoder.decodeUInt64()
        paidYen = try decoder.decodeUInt64()
        premiumYen = try decoder.decodeUInt64()
    }
}

/// The automatic bonuses of one event, by program id: each as set by `set_event_bonus` (the
/// same fields, the same encoding). One list per event, so a payment or a charge reads one
/// state value to find the bonuses it may earn.
struct EventBonusList: CanonicalCodable {
    static let bonusesMax = 65_536
    var bonuses: [SetEventBonus]

    init(bonuses: [SetEventBonus]) { self.bonuses = bonuses }

    func encode(to encoder: inout Encoder) { encoder.encode(bonuses) }

    init(from decoder: inout Decoder) throws(DecodingError) {
        bonuses = try decoder.decodeList(SetEventBonus.self, maxCount: EventBonusList.bonusesMax)
    }
}

/// A standing order (`authorise_standing_order`) and its instalments so far. Invariants:
/// paid instalments never exceed the schedule's count (when it has one); no instalment was
/// over the cap (paidYen ≤ paid × cap); a cancelled order stays cancelled.
public struct StandingOrderState: Sendable, Hashable, CanonicalCodable {
    /// The id of the `authorise_standing_order` transaction.
    public var id: Hash
    public var payer: PublicKey
    public var terms: AuthoriseStandingOrder
    public var authorisedAt: UInt64
    /// Instalments paid so far: the next one is instalment number `paid`.
    public var paid: UInt32 = 0
    public var paidYen: Amount = 0
    public var lastPaidAt: UInt64?
    public var cancelledAt: UInt64?

    public init(id: Hash, payer: PublicKey, terms: AuthoriseStandingOrder, authorisedAt: UInt64) {
        self.id = id
        self.payer = payer
        self.terms = terms
        self.authorisedAt = authorisedAt
    }

    /// Whether every instalment of a limited schedule is paid.
    public var isFinished: Bool { terms.schedule.instalments > 0 && paid >= terms.schedule.instalments }

    /// UTC milliseconds from which instalment `number` (from 0) is due: 00:00 Japan time on
    /// the schedule's day of its month.
    public func dueAt(_ number: UInt32) -> UInt64 {
        let schedule = terms.schedule
        let monthIndex = Int64(schedule.firstMonth % 100) - 1 + Int64(number) * Int64(schedule.intervalMonths)
        let start = LedgerCalendar.startOfMonth(year: Int64(schedule.firstMonth / 100), monthIndexFromZero: monthIndex)
        return start + UInt64(schedule.dayOfMonth - 1) * UInt64(LedgerCalendar.millisecondsPerDay)
    }

    /// `cancelled`, `finished` or `active`.
    public var status: String { cancelledAt != nil ? "cancelled" : isFinished ? "finished" : "active" }

    public func encode(to encoder: inout Encoder) { encoder.encode(id, payer, terms, authorisedAt, paid, paidYen, lastPaidAt, cancelledAt) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        id = try decoder.decodeHash()
        payer = try decoder.decode(PublicKey.self)
        terms = try decoder.decode(AuthoriseStandingOrder.self)
        authorisedAt = try decoder.decodeUInt64()
        paid = try decoder.decodeUInt32()
        paidYen = try decoder.decodeUInt64()
        lastPaidAt = try decoder.decodeOptional(UInt64.self)
        cancelledAt = try decoder.decodeOptional(UInt64.self)
    }
}

extension StateKey {
    /// `0x28 ‖ program id` → `PremiumState`.
    public static let premiumPrefix: UInt8 = 0x28
    /// `0x29 ‖ organisation ‖ yyyymm ‖ purpose` → yen collected by the organisation in that
    /// Japan-time month for that purpose.
    public static let collectedPrefix: UInt8 = 0x29
    /// `0x2A ‖ order id` → `StandingOrderState`.
    public static let standingOrderPrefix: UInt8 = 0x2A
    /// `0x2B ‖ payer ‖ order id` → 0x01: a resident's standing orders.
    public static let payerStandingOrderPrefix: UInt8 = 0x2B
    /// `0x2C ‖ event` → the event's bonuses (`SetEventBonus` list, by program id).
    public static let eventBonusesPrefix: UInt8 = 0x2C

    public static func premium(_ program: UInt64) -> [UInt8] { encode { $0.encode(premiumPrefix); $0.encode(program) } }
    public static func collected(_ organisation: PublicKey, _ yearMonth: UInt32, _ purpose: PaymentPurpose) -> [UInt8] {
        encode { $0.encode(collectedPrefix); $0.encodeFixed(organisation.bytes); $0.encode(yearMonth); $0.encode(purpose) }
    }
    public static func standingOrder(_ id: Hash) -> [UInt8] { [standingOrderPrefix] + id.bytes }
    public static func payerStandingOrder(_ payer: PublicKey, _ id: Hash) -> [UInt8] { [payerStandingOrderPrefix] + payer.bytes + id.bytes }
    public static func eventBonuses(_ event: BonusEvent) -> [UInt8] { [eventBonusesPrefix, event.rawValue] }
}

extension StateOverlay {
    public func premium(_ program: UInt64) throws -> PremiumState? { try decoded(StateKey.premium(program), as: PremiumState.self) }
    public func standingOrder(_ id: Hash) throws -> StandingOrderState? { try decoded(StateKey.standingOrder(id), as: StandingOrderState.self) }
    /// The bonuses `event` earns, by program id.
    public func eventBonuses(_ event: BonusEvent) throws -> [SetEventBonus] { try decoded(StateKey.eventBonuses(event), as: EventBonusList.self)?.bonuses ?? [] }
}
