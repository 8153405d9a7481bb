public import KizunaCore
public import KizunaStorage

/// The reports of design §2.5 that come from the state alone, computed from any store that
/// holds a committed state (the tip's, or one replayed to an earlier height).
public struct LedgerReports: Sendable {
    public let store: any KeyValueStore
    public let genesis: Genesis

    public init(store: any KeyValueStore, genesis: Genesis) {
        self.store = store
        self.genesis = genesis
    }

    var overlay: StateOverlay { StateOverlay(base: store) }

    public struct Supply: Codable, Sendable, Equatable {
        public var asset: String
        public var minted: UInt64
        public var redeemed: UInt64
        public var refunded: UInt64
        public var expired: UInt64
        public var outstanding: UInt64
    }

    /// Supply per asset: minted, redeemed, refunded, expired, outstanding.
    public func supply() throws -> [Supply] {
        try Asset.allCases.map { asset in
            let state = try overlay.supply(asset)
            guard let outstanding = state.outstanding else { throw LedgerInconsistency("\(asset.name) supply counters are inconsistent") }
            return Supply(asset: asset.name, minted: state.minted, redeemed: state.redeemed, refunded: state.refunded, expired: state.expired, outstanding: outstanding)
        }
    }

    public struct UnusedBalance: Codable, Sendable, Equatable {
        /// yyyy-mm-dd, Japan time.
        public var baseDate: String
        /// False when the state is from before the end of the base date: the figure is the
        /// current outstanding paid value, provisional.
        public var closed: Bool
        /// Coins (paid value only) outstanding at the end of the base date.
        public var outstandingYen: UInt64
        /// Half of the unused balance when it exceeds ¥10,000,000 (rounded up), else 0.
        public var depositRequiredYen: UInt64
        /// The refund limit the base date sets for the following period (5% of it).
        public var refundLimitFromUnusedYen: UInt64
    }

    public static let depositThresholdYen: UInt64 = 10_000_000

    /// The unused-balance report for a base date (31 March or 30 September); nil for any
    /// other date.
    public func unusedBalance(year: Int64, month: Int64, day: Int64) throws -> UnusedBalance? {
        guard let period = LedgerCalendar.period(closedBy: year, month: month, day: day) else { return nil }
        let label = "\(year)-\(month < 10 ? "0" : "")\(month)-\(day)"
        let recorded = try store.get(StateKey.baseDateUnused(period), in: .state)
        let outstanding: UInt64
        if let recorded {
            outstanding = try Decoder.decodeUInt64(exactly: recorded)
        } else {
            outstanding = try overlay.supply(.coin).outstanding ?? 0
        }
        let deposit = outstanding > LedgerReports.depositThresholdYen ? outstanding / 2 + outstanding % 2 : 0
        return UnusedBalance(baseDate: label, closed: recorded != nil, outstandingYen: outstanding, depositRequiredYen: deposit, refundLimitFromUnusedYen: outstanding / 20)
    }

    public struct Program: Codable, Sendable, Equatable {
        public var id: UInt64
        public var name: String
        public var asset: String
        public var funder: String
        public var issuer: String
        public var budget: UInt64
        public var granted: UInt64
        public var used: UInt64
        public var expired: UInt64
        public var outstanding: UInt64
        public var remaining: UInt64
        public var perResidentCap: UInt64
        public var rebate: Bool
        /// The keys appointed to grant from the program, in key order, with what each granted.
        public var delegates: [Delegate]
        /// Added to the budget by top-ups (included in `budget`).
        public var toppedUp: UInt64
        /// The period (UTC milliseconds) set by `set_program_terms`; absent: from creation, no end.
        public var startsAt: UInt64?
        public var endsAt: UInt64?
        /// The merchants the rebate covers; empty: every merchant of its categories.
        public var merchants: [String]
        /// When the issuer closed it; absent while open.
        public var closedAt: UInt64?
    }

    /// A delegate of a program: its terms, what it granted, and whether it may still grant.
    public struct Delegate: Codable, Sendable, Equatable {
        public var address: String
        public var budget: UInt64
        public var granted: UInt64
        public var remaining: UInt64
        public var perResidentCap: UInt64
        public var perDayCap: UInt64
        /// UTC milliseconds from which the appointment lapses; nil: until revoked.
        public var expiresAt: UInt64?
        /// Block time of the revocation; nil while the appointment holds (or until it lapses).
        public var revokedAt: UInt64?
        public var appointedAt: UInt64
    }

    /// A program's delegates in key order.
    public func delegates(of program: UInt64) throws -> [Delegate] {
        try store.compactMapEntries(withPrefix: StateKey.delegates(of: program), in: .state) { _, value in
            let state = try DelegateState(storedBytes: value)
            let terms = state.terms
            return Delegate(
                address: terms.delegate.address.description, budget: terms.budgetYen, granted: state.granted, remaining: terms.budgetYen - state.granted,
                perResidentCap: terms.perResidentCapYen, perDayCap: terms.perDayCapYen, expiresAt: terms.expiresAt == UInt64.max ? nil : terms.expiresAt,
                revokedAt: state.revokedAt, appointedAt: state.appointedAt
            )
        }
    }

    /// Program utilization: budget, granted, used, expired, outstanding, remaining.
    public func programs() throws -> [Program] {
        let programs = try store.compactMapEntries(withPrefix: [StateKey.programPrefix], in: .state) { _, value in try ProgramState(storedBytes: value) }
        return try programs.map(report)
    }

    public func program(_ id: UInt64) throws -> Program? {
        try overlay.program(id).map(report)
    }

    /// The utilization report of one program's state.
    func report(_ program: ProgramState) throws -> Program {
        let overlay = self.overlay
        let terms = try overlay.programTerms(program.id)
        return Program(
            id: program.id, name: program.definition.name, asset: program.definition.asset.name,
            funder: program.definition.funder.address.description, issuer: program.issuer.address.description,
            budget: program.definition.budgetYen, granted: program.granted, used: program.used, expired: program.expired,
            outstanding: program.outstanding, remaining: program.remaining, perResidentCap: program.definition.perResidentCapYen,
            rebate: program.definition.rebate != nil, delegates: try delegates(of: program.id),
            toppedUp: try overlay.amount(StateKey.programToppedUp(program.id)),
            startsAt: terms.flatMap { $0.terms.startsAt == 0 ? nil : $0.terms.startsAt },
            endsAt: terms.flatMap { $0.terms.endsAt == UInt64.max ? nil : $0.terms.endsAt },
            merchants: terms?.terms.merchants.map(\.address.description) ?? [], closedAt: terms?.closedAt
        )
    }

    public struct Statement: Codable, Sendable, Equatable {
        public struct Line: Codable, Sendable, Equatable {
            public var asset: String
            public var funder: String
            public var gross: UInt64
            public var fee: UInt64
            public var net: UInt64
        }

        public struct Settlement: Codable, Sendable, Equatable {
            public var sequence: UInt64
            public var time: String
            public var reference: String
            public var lines: [Line]
        }

        public var merchant: String
        public var settlements: [Settlement]
        /// Net owed per funder over all settlements, sorted by funder.
        public var totalsByFunder: [Line]
        /// Value received and not yet redeemed.
        public var unredeemedCoin: UInt64
        public var unredeemedPoint: UInt64
    }

    /// A merchant's settlement statement, split by funder.
    public func settlements(merchant: PublicKey) throws -> Statement? {
        guard let account = try overlay.account(merchant), account.role == .merchant || account.role == .organisation else { return nil }
        var settlements: [Statement.Settlement] = []
        var totals: [Statement.Line] = []
        let prefix = [StateKey.settlementPrefix] + merchant.bytes
        try store.scan(.state, from: prefix, prefix: prefix) { _, value in
            let record = try SettlementRecord(storedBytes: value)
            let lines = record.lines.map { Statement.Line(asset: $0.asset.name, funder: $0.funder.address.description, gross: $0.gross, fee: $0.fee, net: $0.net) }
            settlements.append(.init(sequence: record.sequence, time: CivilTime.formatJapan(milliseconds: record.timestamp), reference: record.reference, lines: lines))
            for line in lines {
                if let index = totals.firstIndex(where: { $0.asset == line.asset && $0.funder == line.funder }) {
                    totals[index].gross += line.gross
                    totals[index].fee += line.fee
                    totals[index].net += line.net
                } else {
                    totals.append(line)
                }
            }
            return true
        }
        totals.sort { ($0.asset, $0.funder) < ($1.asset, $1.funder) }
        return Statement(merchant: merchant.address.description, settlements: settlements, totalsByFunder: totals, unredeemedCoin: account.coin, unredeemedPoint: account.point)
    }

    /// Checks the invariants of design §2.4 over the whole state: per asset minted −
    /// redeemed − refunded − expired = Σ balances (residents' and merchants'); every lot list
    /// sums to its account's cached balance; per program granted ≤ budget and granted = used
    /// + expired + outstanding, where outstanding is what lots of the program still hold.
    /// Returns the first violation, or nil. Cost: a scan of the state (audit and tests only).
    public func invariantViolation() throws -> String? {
        let totals = try StateTotals(scanning: store)
        if let invoiceProblem = totals.invoiceProblem { return invoiceProblem }
        for asset in Asset.allCases {
            if let problem = try Self.supplyViolation(asset, supply: overlay.supply(asset), balances: totals.balances[asset, default: 0]) { return problem }
        }
        for (key, account) in totals.accounts {
            if let problem = Self.lotsViolation(key, account, lots: { totals.lotTotals[ByteKey(key.bytes + [$0.rawValue]), default: 0] }) { return problem }
        }
        for program in try programs() {
            if let problem = Self.programViolation(program, held: totals.programHeld[program.id, default: 0]) { return problem }
        }
        for (key, account) in totals.accounts {
            if let problem = Self.delegateViolation(key, account) { return problem }
        }
        return try townInvariantViolation(accounts: totals.accounts)
    }

    /// What a scan of the whole state sums up for the invariants.
    struct StateTotals {
        var balances: [Asset: UInt64] = [:]
        // Keyed by `ByteKey` (hashed in one pass; `[UInt8]` hashes byte by byte: 13% of the
        // audit's invariant thread).
        var lotTotals: [ByteKey: UInt64] = [:]
        var programHeld: [UInt64: UInt64] = [:]
        var accounts: [(PublicKey, AccountState)] = []
        /// The first invoice found inconsistent.
        var invoiceProblem: String?

        init(scanning store: any KeyValueStore) throws {
            try store.scan(.state, from: [], prefix: []) { key, value in
                switch key.first {
                case StateKey.account:
                    let account = try AccountState(storedBytes: value)
                    accounts.append((PublicKey(key.dropFirst())!, account))
                    for asset in Asset.allCases { balances[asset, default: 0] += account.balance(asset) }
                case StateKey.invoicePrefix:
                    if invoiceProblem == nil { invoiceProblem = try LedgerReports.invoiceViolation(key: key, InvoiceState(storedBytes: value)) }
                case StateKey.lots:
                    let lots = try LotList(storedBytes: value)
                    lotTotals[ByteKey(Array(key.dropFirst()))] = lots.total
                    for lot in lots.lots { programHeld[lot.program, default: 0] += lot.amount }
                default:
                    break
                }
                return true
            }
        }
    }

    // MARK: The invariants one item at a time (the full scan above and `IncrementalInvariants`)

    static func invoiceViolation(key: [UInt8], _ invoice: InvoiceState) -> String? {
        guard invoice.paid > invoice.amount || Array(key.dropFirst()) != invoice.id.bytes else { return nil }
        return "invoice \(invoice.id): paid \(invoice.paid) of \(invoice.amount), stored under key \(key.hexString)"
    }

    static func supplyViolation(_ asset: Asset, supply: SupplyState, balances: UInt64) -> String? {
        guard let outstanding = supply.outstanding else { return "\(asset.name): redeemed + refunded + expired exceed minted" }
        guard outstanding == balances else {
            return "\(asset.name): minted − redeemed − refunded − expired = \(outstanding), balances sum to \(balances)"
        }
        return nil
    }

    /// An account that holds resident value (or an authority): its points and thanks equal its lots.
    static func lotsViolation(_ key: PublicKey, _ account: AccountState, lots: (Asset) throws -> UInt64) rethrows -> String? {
        for asset in [Asset.point, .thanks] where account.role.holdsResidentValue || account.role == .authority {
            let held = try lots(asset)
            guard held == account.balance(asset) else {
                return "account \(key.address): \(asset.name) balance \(account.balance(asset)) but its lots sum to \(held)"
            }
        }
        return nil
    }

    static func programViolation(_ program: Program, held: UInt64) -> String? {
        guard program.granted <= program.budget else { return "program \(program.id): granted \(program.granted) exceeds budget \(program.budget)" }
        guard program.granted == program.used + program.expired + program.outstanding else {
            return "program \(program.id): granted \(program.granted) ≠ used \(program.used) + expired \(program.expired) + outstanding \(program.outstanding)"
        }
        guard program.outstanding == held else {
            return "program \(program.id): outstanding \(program.outstanding) but its lots hold \(held)"
        }
        // A delegate's grants are the program's grants: each within its own budget, and
        // all of them within what the program granted.
        var delegated: UInt64 = 0
        for delegate in program.delegates {
            guard delegate.granted <= delegate.budget else {
                return "program \(program.id): delegate \(delegate.address) granted \(delegate.granted), over its budget \(delegate.budget)"
            }
            delegated += delegate.granted
        }
        guard delegated <= program.granted else {
            return "program \(program.id): its delegates granted \(delegated), more than the program granted (\(program.granted))"
        }
        return nil
    }

    static func delegateViolation(_ key: PublicKey, _ account: AccountState) -> String? {
        guard account.role == .delegate, account.coin != 0 || account.point != 0 || account.thanks != 0 else { return nil }
        return "delegate \(key.address) holds value"
    }
}
