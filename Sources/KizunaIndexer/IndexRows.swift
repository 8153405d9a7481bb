public import KizunaCore
public import KizunaLedger
public import KizunaChain

/// The rows one verified block adds to the index (docs/indexer.md §2). Pure: built from the
/// block, the ledger's execution of it and the replayed state, nothing read from a database.
public struct BlockRows: Sendable {
    public struct BlockRow: Sendable, Equatable {
        public var height: Int64
        public var hash: String
        public var parentHash: String
        public var timeMilliseconds: Int64
        /// Japan-time date, yyyy-mm-dd.
        public var day: String
        public var stateRoot: String
        public var proposer: String
        public var transactionCount: Int32
        /// The certificate that committed the block (canonical encoding), so a reader can
        /// check the block against the validator set without the node.
        public var certificate: [UInt8]
    }

    public struct TransactionRow: Sendable, Equatable {
        public var id: String
        public var height: Int64
        public var index: Int32
        public var kind: String
        public var signer: String
        public var nonce: Int64
        /// The other account the transaction names (payee, recipient, registered account).
        public var counterparty: String?
        /// Decimal text: a 64-bit amount (a program's budget may be 2^64 − 1), stored as numeric.
        public var amount: String?
        public var program: Int64?
        public var canonical: [UInt8]
    }

    public struct ReceiptRow: Sendable, Equatable {
        public var transactionId: String
        public var height: Int64
        public var index: Int32
    }

    public struct SettlementRow: Sendable, Equatable {
        public var merchant: String
        public var sequence: Int64
        public var line: Int32
        public var height: Int64
        public var timeMilliseconds: Int64
        public var reference: String
        public var asset: String
        public var funder: String
        public var gross: Int64
        public var fee: Int64
        public var net: Int64
    }

    /// An invoice as the block left it (issue 21): written by issue_invoice, pay_invoice and
    /// cancel_invoice; upserted, so the table holds each invoice's latest state.
    public struct InvoiceRow: Sendable, Equatable {
        public var id: String
        public var issuer: String
        public var payer: String
        public var amount: Int64
        public var paid: Int64
        public var payments: Int32
        public var dueAtMilliseconds: Int64
        public var reference: String
        public var issuedAtMilliseconds: Int64
        /// 0: none yet.
        public var lastPaidAtMilliseconds: Int64
        public var paidLate: Bool
        /// 0: not cancelled.
        public var cancelledAtMilliseconds: Int64
        public var height: Int64
    }

    public var block: BlockRow
    public var transactions: [TransactionRow]
    public var receipts: [ReceiptRow]
    public var settlements: [SettlementRow]
    public var invoices: [InvoiceRow]

    /// The rows of `block`, executed as `execution`, committed by `certificate`.
    public init(block: Block, certificate: CommitCertificate, execution: BlockExecution) throws(IndexerError) {
        let height = try Self.int64(block.height, "block height")
        self.block = BlockRow(
            height: height, hash: block.hash.hex, parentHash: block.header.previousBlockHash.hex,
            timeMilliseconds: try Self.int64(block.header.timestamp, "block time"),
            day: Self.dayText(LedgerCalendar.japanDayAndHour(block.header.timestamp).day),
            stateRoot: block.header.stateRoot.hex, proposer: block.header.proposer.address.description,
            transactionCount: Int32(block.transactions.count), certificate: certificate.canonicalBytes
        )
        var transactions: [TransactionRow] = []
        for (index, signed) in block.transactions.enumerated() {
            let transaction = signed.transaction
            var counterparty: PublicKey?
            var amount: UInt64?
            var program: UInt64?
            switch transaction.body {
            case .register(let fields): counterparty = fields.account
            case .charge(let fields): (counterparty, amount) = (fields.to, fields.amount)
            case .send(let fields), .thank(let fields): (counterparty, amount) = (fields.to, fields.amount)
            case .createProgram(let fields): (counterparty, amount) = (fields.funder, fields.budgetYen)
            case .grant(let fields): (counterparty, amount, program) = (fields.to, fields.amount, fields.program)
            case .pay(let fields): (counterparty, amount) = (fields.merchant, fields.amount)
            case .redeem: break
            case .refund(let fields): (counterparty, amount) = (fields.account, fields.amount)
            case .freeze(let fields), .unfreeze(let fields): counterparty = fields.account
            case .recover(let fields): counterparty = fields.to
            case .appointDelegate(let fields): (counterparty, amount, program) = (fields.delegate, fields.budgetYen, fields.program)
            case .revokeDelegate(let fields): (counterparty, program) = (fields.delegate, fields.program)
            case .setProgramTerms(let fields): program = fields.program
            case .topUpProgram(let fields): (amount, program) = (fields.amountYen, fields.program)
            case .closeProgram(let fields): program = fields.program
            // The merchant signs a customer-presented payment: the counterparty is the payer.
            case .payAuthorised(let fields): (counterparty, amount) = (fields.authorisation.authorisation.payer, fields.amount)
            case .payBusiness(let fields): (counterparty, amount) = (fields.to, fields.amount)
            case .issueInvoice(let fields): (counterparty, amount) = (fields.payer, fields.amount)
            case .payInvoice(let fields): (counterparty, amount) = (fields.issuer, fields.amount)
            case .cancelInvoice(let fields): counterparty = fields.payer
            case .updateConsent: break
            case .setPremium(let fields): program = fields.program
            case .chargeExtended(let fields): (counterparty, amount, program) = (fields.to, fields.amount, fields.premiumProgram)
            case .payPublic(let fields): (counterparty, amount) = (fields.to, fields.amount)
            case .authoriseStandingOrder(let fields): (counterparty, amount) = (fields.payee, fields.capYen)
            case .payInstalment(let fields): (counterparty, amount) = (fields.payer, fields.amount)
            case .cancelStandingOrder(let fields): counterparty = fields.payee
            case .setEventBonus(let fields): (amount, program) = (fields.amountYen, fields.program)
            case .setRebateTiers(let fields): program = fields.program
            case .updateConsent, .govern: break
            }
            transactions.append(TransactionRow(
                id: transaction.id.hex, height: height, index: Int32(index), kind: transaction.body.kind,
                signer: transaction.signer.address.description, nonce: try Self.int64(transaction.nonce, "nonce"),
                counterparty: counterparty?.address.description, amount: amount.map { "\($0)" },
                program: try program.map { v throws(IndexerError) in try Self.int64(v, "program id") }, canonical: signed.canonicalBytes
            ))
        }
        self.transactions = transactions
        receipts = execution.receipts.map { ReceiptRow(transactionId: $0.transactionId.hex, height: Int64($0.height), index: Int32($0.index)) }
        var settlements: [SettlementRow] = []
        try Self.forEachWritten(SettlementRecord.self, prefix: StateKey.settlementPrefix, by: execution, block: block, "a settlement record") { record throws(IndexerError) in
            for (line, entry) in record.lines.enumerated() {
                settlements.append(SettlementRow(
                    merchant: record.merchant.address.description, sequence: try Self.int64(record.sequence, "settlement sequence"), line: Int32(line),
                    height: height, timeMilliseconds: try Self.int64(record.timestamp, "settlement time"), reference: record.reference,
                    asset: entry.asset.name, funder: entry.funder.address.description,
                    gross: try Self.int64(entry.gross, "gross"), fee: try Self.int64(entry.fee, "fee"), net: try Self.int64(entry.net, "net")
                ))
            }
        }
        self.settlements = settlements
        var invoices: [InvoiceRow] = []
        try Self.forEachWritten(InvoiceState.self, prefix: StateKey.invoicePrefix, by: execution, block: block, "an invoice") { invoice throws(IndexerError) in
            invoices.append(InvoiceRow(
                id: invoice.id.hex, issuer: invoice.issuer.address.description, payer: invoice.payer.address.description,
                amount: try Self.int64(invoice.amount, "invoice amount"), paid: try Self.int64(invoice.paid, "invoice paid"), payments: Int32(clamping: invoice.payments),
                dueAtMilliseconds: try Self.int64(invoice.dueAt, "invoice due date"), reference: invoice.reference,
                issuedAtMilliseconds: try Self.int64(invoice.issuedAt, "invoice time"), lastPaidAtMilliseconds: try Self.int64(invoice.lastPaidAt ?? 0, "invoice payment time"),
                paidLate: invoice.paidLate, cancelledAtMilliseconds: try Self.int64(invoice.cancelledAt ?? 0, "invoice cancellation time"), height: height
            ))
        }
        self.invoices = invoices
    }

    /// Calls `body` with each record `execution` wrote under the state-key `prefix` (deletions
    /// left out), in the order of its changes; one that does not decode is
    /// `indexer.verify_failed`, named by `what`.
    static func forEachWritten<Record: CanonicalDecodable>(
        _: Record.Type, prefix: UInt8, by execution: BlockExecution, block: Block, _ what: String, _ body: (Record) throws(IndexerError) -> Void
    ) throws(IndexerError) {
        for change in execution.changes where change.key.first == prefix {
            guard let value = change.value else { continue }
            let record: Record
            do {
                record = try Record(storedBytes: value)
            } catch {
                throw IndexerError(.verifyFailed, "block \(block.height): \(what) in the state does not decode: \(error)", cause: error)
            }
            try body(record)
        }
    }

    /// PostgreSQL's bigint is signed: a value above 2^63 − 1 is refused, never wrapped.
    static func int64(_ value: UInt64, _ what: String) throws(IndexerError) -> Int64 {
        guard let result = Int64(exactly: value) else {
            throw IndexerError(.valueOutOfRange, "\(what) \(value) does not fit PostgreSQL's bigint")
        }
        return result
    }

    /// yyyymmdd → yyyy-mm-dd.
    public static func dayText(_ day: UInt32) -> String {
        let year = day / 10_000, month = day / 100 % 100, date = day % 100
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(date < 10 ? "0" : "")\(date)"
    }
}

/// What the index holds about the state after a batch: the programs (for the burn-down), the
/// payment aggregates of the days the batch touched and the unused-balance reports — each
/// computed by the ledger's and the chain's own report code, so they equal the node's
/// reports at the same height.
public struct StateRows: Sendable {
    public struct ProgramDay: Sendable, Equatable {
        /// yyyy-mm-dd: the Japan-time day whose last indexed block these figures follow.
        public var day: String
        public var height: Int64
        public var programs: [LedgerReports.Program]
    }

    public struct DayAggregates: Sendable, Equatable {
        public var day: String
        public var aggregates: ChainReports.Aggregates
    }

    public var height: Int64
    public var programs: [LedgerReports.Program]
    public var programDays: [ProgramDay]
    public var aggregates: [DayAggregates]
    public var unusedBalances: [LedgerReports.UnusedBalance]

    /// The aggregate dimensions as stored (column `dimension`), with the report's groups: the
    /// closed days' breakdowns, and each day's total as dimension `day`. (The indexer asks for
    /// one day at a time, so there is at most one day; a day still open publishes nothing and
    /// is asked again in the batch that closes it.)
    public static func dimensions(_ aggregates: ChainReports.Aggregates) -> [(name: String, groups: [ChainReports.Group])] {
        let days = aggregates.days
        return [("category", days.flatMap(\.byMerchantCategory)), ("hour", days.flatMap(\.byHour)), ("day", days.map(\.total)),
                ("district", days.flatMap(\.byDistrict)), ("age_band", days.flatMap(\.byAgeBand)), ("payer_role", days.flatMap(\.byPayerRole))]
    }

    /// The reports after the replica's tip. `days`: the Japan-time days (yyyymmdd) whose
    /// aggregates are recomputed; `programDays`: program snapshots taken during the batch.
    public static func compute(replica: BlockStore, days: [UInt32], programDays: [ProgramDay]) throws -> StateRows {
        let tip = try replica.tip()
        let reports = LedgerReports(store: replica.store, genesis: replica.genesis)
        var aggregates: [DayAggregates] = []
        for day in days.sorted() {
            aggregates.append(DayAggregates(day: BlockRows.dayText(day), aggregates: try ChainReports.paymentAggregates(blocks: replica, fromDay: day, toDay: day)))
        }
        // Every base date from the genesis period to the current one (the last is provisional).
        var unused: [LedgerReports.UnusedBalance] = []
        let first = LedgerCalendar.basePeriod(replica.genesis.genesisTime)
        let last = LedgerCalendar.basePeriod(tip.timestamp)
        if first <= last {
            for period in first...last {
                let date = LedgerCalendar.baseDate(closing: period)
                if let report = try reports.unusedBalance(year: date.year, month: date.month, day: date.day) { unused.append(report) }
            }
        }
        return StateRows(height: try BlockRows.int64(tip.height, "height"), programs: try reports.programs(), programDays: programDays, aggregates: aggregates, unusedBalances: unused)
    }
}
