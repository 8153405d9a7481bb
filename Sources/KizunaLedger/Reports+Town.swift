public import KizunaCore
import KizunaStorage

/// The reports of issue 18's premium sales, public payments and standing orders.
extension LedgerReports {
    /// A premium sale: its rule, the paid yen of the charges that bought into it and the
    /// premium minted for them. The paid yen are coins (in the unused balance like any
    /// charge); the premium is points of the program (never paid-in value): its used,
    /// expired and outstanding parts are the program's (`/v1/programs/{id}`).
    public struct Premium: Codable, Sendable, Equatable {
        public var program: UInt64
        public var name: String
        public var funder: String
        public var unitYen: UInt64
        public var premiumPerUnitYen: UInt64
        public var basisPoints: UInt32
        public var charges: UInt64
        public var paidYen: UInt64
        public var premiumYen: UInt64
    }

    /// Every premium sale, by program id.
    public func premiums() throws -> [Premium] {
        let overlay = self.overlay
        return try store.compactMapEntries(withPrefix: [StateKey.premiumPrefix], in: .state) { key, value in
            let state = try PremiumState(storedBytes: value)
            let id = try Decoder.decodeUInt64(exactly: Array(key.dropFirst()))
            guard let program = try overlay.program(id) else { throw LedgerInconsistency("premium of unknown program \(id)") }
            return Premium(program: id, name: program.definition.name, funder: program.definition.funder.address.description,
                           unitYen: state.rule.unitYen, premiumPerUnitYen: state.rule.premiumPerUnitYen, basisPoints: state.rule.basisPoints,
                           charges: state.charges, paidYen: state.paidYen, premiumYen: state.premiumYen)
        }
    }

    /// What one organisation collected in one Japan-time month for one purpose.
    public struct Collection: Codable, Sendable, Equatable {
        public var organisation: String
        /// `public` or `club`.
        public var kind: String
        /// yyyy-mm, Japan time.
        public var month: String
        /// `tax`, `fee` or `donation`.
        public var purpose: String
        public var amountYen: UInt64
    }

    /// Taxes, fees and donations collected, by organisation (key order), month and purpose;
    /// `month` (yyyymm) keeps one month.
    public func collections(month: UInt32? = nil) throws -> [Collection] {
        let overlay = self.overlay
        return try store.compactMapEntries(withPrefix: [StateKey.collectedPrefix], in: .state) { key, value in
            var decoder = Decoder(Array(key.dropFirst()))
            let organisation = try decoder.decode(PublicKey.self)
            let yearMonth = try decoder.decodeUInt32()
            let purpose = try decoder.decode(PaymentPurpose.self)
            guard month == nil || month == yearMonth else { return nil }
            let kind = try overlay.account(organisation)?.merchantCategory ?? ""
            let label = "\(yearMonth / 100)-\(yearMonth % 100 < 10 ? "0" : "")\(yearMonth % 100)"
            return Collection(organisation: organisation.address.description, kind: kind, month: label, purpose: purpose.name,
                              amountYen: try Decoder.decodeUInt64(exactly: value))
        }
    }

    /// A standing order as the payer and payee see it.
    public struct StandingOrder: Codable, Sendable, Equatable {
        public var id: String
        public var payer: String
        public var payee: String
        public var capYen: UInt64
        public var purpose: String
        public var reference: String
        /// yyyymm, 1–28, 1–12, 0 = until cancelled.
        public var firstMonth: UInt32
        public var dayOfMonth: UInt8
        public var intervalMonths: UInt8
        public var instalments: UInt32
        public var paid: UInt32
        public var paidYen: UInt64
        /// UTC milliseconds from which the next instalment is due; absent when the order is
        /// cancelled or finished.
        public var nextDueAt: UInt64?
        /// `active`, `cancelled` or `finished`.
        public var status: String
    }

    /// A resident's standing orders, by id.
    public func standingOrders(payer: PublicKey) throws -> [StandingOrder] {
        let prefix = [StateKey.payerStandingOrderPrefix] + payer.bytes
        let overlay = self.overlay
        return try store.compactMapEntries(withPrefix: prefix, in: .state) { key, _ in
            guard let id = Hash(Array(key.dropFirst(prefix.count))), let order = try overlay.standingOrder(id) else {
                throw LedgerInconsistency("standing-order index entry \(key.hexString) without its order")
            }
            let terms = order.terms
            return StandingOrder(id: id.hex, payer: order.payer.address.description, payee: terms.payee.address.description, capYen: terms.capYen,
                                 purpose: terms.purpose.name, reference: terms.reference, firstMonth: terms.schedule.firstMonth,
                                 dayOfMonth: terms.schedule.dayOfMonth, intervalMonths: terms.schedule.intervalMonths, instalments: terms.schedule.instalments,
                                 paid: order.paid, paidYen: order.paidYen, nextDueAt: order.status == "active" ? order.dueAt(order.paid) : nil, status: order.status)
        }
    }

    /// Issue 18's invariants over the whole state: organisations hold coins only; a premium
    /// sale minted no more than its program granted; no standing order paid more than its
    /// cap per instalment or more instalments than its schedule.
    func townInvariantViolation(accounts: [(PublicKey, AccountState)]) throws -> String? {
        for (key, account) in accounts {
            if let problem = Self.organisationViolation(key, account) { return problem }
        }
        var problem: String?
        let overlay = self.overlay
        try store.scan(.state, from: [StateKey.premiumPrefix], prefix: [StateKey.premiumPrefix]) { key, value in
            let id = try Decoder.decodeUInt64(exactly: Array(key.dropFirst()))
            problem = Self.premiumViolation(id, try PremiumState(storedBytes: value), granted: try overlay.program(id)?.granted ?? 0)
            return problem == nil
        }
        if let problem { return problem }
        try store.scan(.state, from: [StateKey.standingOrderPrefix], prefix: [StateKey.standingOrderPrefix]) { _, value in
            problem = Self.standingOrderViolation(try StandingOrderState(storedBytes: value))
            return problem == nil
        }
        return problem
    }

    static func organisationViolation(_ key: PublicKey, _ account: AccountState) -> String? {
        guard account.role == .organisation, account.point > 0 || account.thanks > 0 else { return nil }
        return "organisation \(key.address) holds points or thanks"
    }

    static func premiumViolation(_ program: UInt64, _ state: PremiumState, granted: UInt64) -> String? {
        guard state.premiumYen > granted else { return nil }
        return "premium sale \(program) minted \(state.premiumYen), more than its program granted"
    }

    static func standingOrderViolation(_ order: StandingOrderState) -> String? {
        let (most, overflow) = UInt64(order.paid).multipliedReportingOverflow(by: order.terms.capYen)
        guard (!overflow && order.paidYen > most) || (order.terms.schedule.instalments > 0 && order.paid > order.terms.schedule.instalments) else { return nil }
        return "standing order \(order.id): \(order.paid) instalments, ¥\(order.paidYen), cap ¥\(order.terms.capYen)"
    }
}
