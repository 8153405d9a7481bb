public import KizunaCore
public import KizunaLedger
import KizunaStorage

/// The statutory reports as the auditor reproduces them from the verified chain, with the
/// tip hash and the certificate they were computed from. JSON via Codable; Markdown to file.
public struct AuditReport: Codable, Sendable {
    public var summary: ChainAuditor.Summary
    public var tipCertificate: String
    public var supply: [LedgerReports.Supply]
    public var unusedBalances: [LedgerReports.UnusedBalance]
    public var programs: [LedgerReports.Program]
    public var settlements: [LedgerReports.Statement]

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
        var statements: [LedgerReports.Statement] = []
        try replica.store.scan(.state, from: [0x01], prefix: [0x01]) { key, value in
            let account = try AccountState(storedBytes: value)
            if account.role == .merchant, let merchant = PublicKey(key.dropFirst()), let statement = try reports.settlements(merchant: merchant) {
                statements.append(statement)
            }
            return true
        }
        settlements = statements
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
        return lines.joined(separator: "\n")
    }
}
