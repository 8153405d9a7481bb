public import KizunaCore
public import KizunaLedger
import KizunaStorage

/// The statutory reports as the auditor reproduces them from the verified chain, with the
/// tip hash and the certificate they were computed from. JSON via Codable; Markdown to file.
/// Each report is computed by the code the node's API serves it with (docs/audit.md,
/// "The reports", names the endpoint of each), so the two cannot drift.
public struct AuditReport: Codable, Sendable {
    public var summary: ChainAuditor.Summary
    public var tipCertificate: String
    /// `GET /v1/supply`.
    public var supply: [LedgerReports.Supply]
    /// `GET /v1/reports/unused-balance?date=` for every base date the chain has passed.
    public var unusedBalances: [LedgerReports.UnusedBalance]
    /// `GET /v1/programs` (with each program's delegates, terms and top-ups).
    public var programs: [LedgerReports.Program]
    /// `GET /v1/reports/settlements/{merchant}` for every merchant.
    public var settlements: [LedgerReports.Statement]
    /// `GET /v1/reports/premiums`.
    public var premiums: [LedgerReports.Premium]
    /// `GET /v1/reports/collections` (every month).
    public var collections: [LedgerReports.Collection]
    /// `GET /v1/reports/accounts`: accounts by role at the tip's time.
    public var accounts: LedgerReports.RoleCounts
    /// `GET /v1/reports/aggregates` from the genesis day to the tip's day (closed days only).
    public var aggregates: ChainReports.Aggregates
    /// `GET /v1/accounts/{payer}/standing-orders` for every payer, by payer then id.
    public var standingOrders: [LedgerReports.StandingOrder]
    /// `GET /v1/governance`'s amendments and the asset policies in force at the next block.
    public var governance: Governance

    public struct Governance: Codable, Sendable, Equatable {
        public struct Amendment: Codable, Sendable, Equatable {
            public var effectiveHeight: UInt64
            public var asset: String
            public var policy: AssetPolicy
        }

        /// The height the policies are in force at: the tip's + 1, as the node answers by default.
        public var height: UInt64
        public var policyAmendments: [Amendment]
        /// By asset name: coin, point, thanks.
        public var policies: [String: AssetPolicy]
        /// Charge-channel and category-fee amendments (ADR 0021), by effective height.
        public var townAmendments: [TownAmendmentView]
        /// The charge channels in force at `height`.
        public var chargeChannels: [ChargeChannelDefinition]
        /// The redemption fees by merchant category in force at `height`, by asset name.
        public var categoryFees: [String: [CategoryFee]]
    }

    /// Computes every report from the replayed chain.
    public init(summary: ChainAuditor.Summary, replica: BlockStore) throws {
        self.summary = summary
        let tip = try replica.tipHeight()
        tipCertificate = tip == 0 ? "" : (try replica.certificate(at: tip) as CommitCertificate?)?.canonicalBytes.hexString ?? ""
        let reports = LedgerReports(store: replica.store, genesis: replica.genesis)
        supply = try reports.supply()
        programs = try reports.programs()
        // Every base date from genesis to the tip.
        var balances: [LedgerReports.UnusedBalance] = []
        let first = LedgerCalendar.basePeriod(replica.genesis.genesisTime)
        let last = LedgerCalendar.basePeriod(try replica.tip().timestamp)
        if first < last {
            for period in first..<last {
                let date = LedgerCalendar.baseDate(closing: period)
                if let report = try reports.unusedBalance(year: date.year, month: date.month, day: date.day) { balances.append(report) }
            }
        }
        unusedBalances = balances
        settlements = try replica.store.compactMapEntries(withPrefix: [0x01], in: .state) { key, value in
            let account = try AccountState(storedBytes: value)
            guard account.role == .merchant, let merchant = PublicKey(key.dropFirst()) else { return nil }
            return try reports.settlements(merchant: merchant)
        }
        premiums = try reports.premiums()
        collections = try reports.collections()
        let tipBlock = try replica.tip()
        accounts = try reports.roleCounts(at: tipBlock.timestamp)
        aggregates = try ChainReports.paymentAggregates(blocks: replica, height: tip, fromDay: LedgerCalendar.japanDayAndHour(replica.genesis.genesisTime).day,
                                                        toDay: LedgerCalendar.japanDayAndHour(tipBlock.timestamp).day)
        var orders: [LedgerReports.StandingOrder] = []
        var lastPayer: PublicKey?
        let payerPrefix = [StateKey.payerStandingOrderPrefix]
        try replica.store.scan(.state, from: payerPrefix, prefix: payerPrefix) { key, _ in
            guard let payer = PublicKey(key.dropFirst().prefix(PublicKey.byteCount)) else { throw LedgerInconsistency("standing-order index key \(key.hexString)") }
            if payer != lastPayer { orders += try reports.standingOrders(payer: payer) }
            lastPayer = payer
            return true
        }
        standingOrders = orders
        let policies = try replica.ledger.inForce(at: tip + 1, store: replica.store).genesis
        governance = Governance(
            height: tip + 1,
            policyAmendments: try replica.ledger.policyAmendments(store: replica.store).map { .init(effectiveHeight: $0.effectiveHeight, asset: $0.asset.name, policy: $0.policy) },
            policies: ["coin": policies.coin, "point": policies.point, "thanks": policies.thanks],
            townAmendments: try replica.ledger.townAmendments(store: replica.store).map(TownAmendmentView.init),
            chargeChannels: policies.effectiveChargeChannels,
            categoryFees: Dictionary(uniqueKeysWithValues: policies.categoryFees.map { ($0.key.name, $0.value) })
        )
    }

    /// A document an auditor can file.
    public var markdown: String {
        var lines: [String] = []
        lines.append("# Kizuna audit report — chain `\(summary.chainId)`")
        lines.append("")
        lines.append("Verified from genesis (`\(summary.genesisHash)`) to block \(summary.blocks) (`\(summary.tipHash)`, \(summary.tipTime)), \(summary.transactions) transactions. Every block's hash link, header and commit certificate, every transaction signature, and a full replay of the ledger rules with the state root of every block were checked; the invariants of design §2.4 \(summary.invariants).\(summary.storedStateCompared ? " The node's stored state equals the replayed state, value by value." : "")")
        lines.append("")
        lines.append("State root at the tip: `\(summary.stateRoot)`. Certificate of the tip block (canonical encoding, hex): `\(tipCertificate.prefix(64))…` (full value in the JSON report).")
        lines.append("")
        lines.append("## Supply")
        lines.append("")
        lines.append("| asset | minted | redeemed | refunded | expired | outstanding |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for row in supply { lines.append("| \(row.asset) | \(row.minted) | \(row.redeemed) | \(row.refunded) | \(row.expired) | \(row.outstanding) |") }
        lines.append("")
        lines.append("## Unused balance at base dates (paid value only)")
        lines.append("")
        if unusedBalances.isEmpty {
            lines.append("No base date (31 March, 30 September) has passed on this chain yet.")
        } else {
            lines.append("| base date | unused balance (¥) | deposit required (¥) |")
            lines.append("|---|---:|---:|")
            for row in unusedBalances { lines.append("| \(row.baseDate) | \(row.outstandingYen) | \(row.depositRequiredYen) |") }
        }
        lines.append("")
        lines.append("## Programs")
        lines.append("")
        lines.append("| id | name | asset | budget | granted | used | expired | outstanding | remaining |")
        lines.append("|---:|---|---|---:|---:|---:|---:|---:|---:|")
        for program in programs {
            let budget = program.budget == UInt64.max ? "unlimited" : "\(program.budget)"
            let remaining = program.budget == UInt64.max ? "—" : "\(program.remaining)"
            lines.append("| \(program.id) | \(program.name) | \(program.asset) | \(budget) | \(program.granted) | \(program.used) | \(program.expired) | \(program.outstanding) | \(remaining) |")
        }
        lines.append("")
        lines.append("## Merchant settlements (totals by funder)")
        lines.append("")
        lines.append("| merchant | asset | funder | gross | fee | net owed |")
        lines.append("|---|---|---|---:|---:|---:|")
        for statement in settlements {
            for line in statement.totalsByFunder {
                lines.append("| \(statement.merchant) | \(line.asset) | \(line.funder) | \(line.gross) | \(line.fee) | \(line.net) |")
            }
        }
        lines.append("")
        lines.append(contentsOf: townMarkdown)
        return lines.joined(separator: "\n")
    }

    /// Premium sales, collections, standing orders, accounts by role, payment aggregates and
    /// the policies in force.
    var townMarkdown: [String] {
        var lines = ["## Premium sales", "", "| program | name | funder | unit (¥) | premium per unit (¥) | rate (bp) | charges | paid (¥) | premium (¥) |", "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
        for row in premiums {
            lines.append("| \(row.program) | \(row.name) | \(row.funder) | \(row.unitYen) | \(row.premiumPerUnitYen) | \(row.basisPoints) | \(row.charges) | \(row.paidYen) | \(row.premiumYen) |")
        }
        lines += ["", "## Collections (taxes, fees and donations by month, Japan time)", "", "| organisation | kind | month | purpose | amount (¥) |", "|---|---|---|---|---:|"]
        for row in collections { lines.append("| \(row.organisation) | \(row.kind) | \(row.month) | \(row.purpose) | \(row.amountYen) |") }
        lines += ["", "## Standing orders", "", "| id | payer | payee | cap (¥) | purpose | instalments paid | paid (¥) | status |", "|---|---|---|---:|---|---:|---:|---|"]
        for row in standingOrders {
            lines.append("| \(row.id.prefix(16))… | \(row.payer) | \(row.payee) | \(row.capYen) | \(row.purpose) | \(row.paid) | \(row.paidYen) | \(row.status) |")
        }
        let counts = accounts
        lines += ["", "## Accounts by role", "",
                  "Residents \(counts.residents), cards \(counts.cards), visitors \(counts.visitors) (\(counts.expiredVisitors) expired), merchants \(counts.merchants), organisations \(counts.organisations), delegates \(counts.delegates), authorities \(counts.authorities); \(counts.consentWithdrawn) residents withdrew analytics consent."]
        lines += ["", "## Payments by closed day (cells of fewer than \(aggregates.minimumResidents) residents suppressed)", ""]
        lines += aggregates.days.isEmpty ? ["No closed Japan-time day with payments yet."] : ["| day | payments | yen | residents |", "|---|---:|---:|---:|"]
        for day in aggregates.days {
            let total = day.total
            lines.append(total.suppressed ? "| \(day.day) | — | — | — |" : "| \(day.day) | \(total.payments ?? 0) | \(total.yen ?? 0) | \(total.residents ?? 0) |")
        }
        lines += ["", "## Asset policies in force at block \(governance.height)", "", "| asset | holder cap (¥) | send per tx (¥) | send per month (¥) | redemption fee (bp) |", "|---|---:|---:|---:|---:|"]
        for (name, policy) in governance.policies.sorted(by: { $0.key < $1.key }) {
            lines.append("| \(name) | \(policy.holderCapYen) | \(policy.sendLimitPerTransactionYen) | \(policy.sendLimitPerMonthYen) | \(policy.redemptionFeeBasisPoints) |")
        }
        lines += ["", "Amendments by governance: " + (governance.policyAmendments.isEmpty ? "none." : governance.policyAmendments.map { "\($0.asset) from block \($0.effectiveHeight)" }.joined(separator: "; ") + ".")]
        lines += ["", "Charge channels in force: " + governance.chargeChannels.map { "\($0.name) (\($0.id), bonus \($0.bonusBasisPoints) bp)" }.joined(separator: ", ") + "."]
        let fees = governance.categoryFees.sorted { $0.key < $1.key }.flatMap { asset, fees in fees.map { "\(asset) at \($0.merchantCategory) \($0.basisPoints) bp" } }
        lines += ["", "Redemption fees by merchant category: " + (fees.isEmpty ? "none (each asset's own fee)." : fees.joined(separator: "; ") + ".")]
        lines += ["", "Channel and fee amendments: " + (governance.townAmendments.isEmpty ? "none." : governance.townAmendments.map { "\($0.kind)\($0.asset.map { " of \($0)" } ?? "") from block \($0.effectiveHeight)" }.joined(separator: "; ") + "."), ""]
        return lines
    }
}
