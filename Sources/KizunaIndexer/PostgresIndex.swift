import Foundation
public import Logging
public import PostgresNIO
import KizunaCore
import KizunaLedger
import NIOCore
public import KizunaChain

/// The index in PostgreSQL: one connection, the schema's migration, the indexed tip, and the
/// write of a batch of blocks — rows, reports and the new tip in one transaction, which
/// commits only if the tip it starts from is still the one this writer read (docs/indexer.md §6).
public final class PostgresIndex: @unchecked Sendable {
    public let connection: PostgresConnection
    let logger: Logger

    /// What the database says it has indexed.
    public struct Tip: Sendable, Equatable {
        public var chainId: String
        public var genesisHash: String
        public var height: UInt64
        public var tipHash: String
    }

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Connects with the configuration's settings.
    public static func connect(_ configuration: IndexerConfiguration, logger: Logger) async throws(IndexerError) -> PostgresIndex {
        let settings = configuration.postgres
        let postgres = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user,
            password: try configuration.postgresPassword(), database: settings.database, tls: .disable
        )
        do {
            let connection = try await PostgresConnection.connect(configuration: postgres, id: 1, logger: logger)
            return PostgresIndex(connection: connection, logger: logger)
        } catch {
            throw IndexerError(.database, "cannot connect to PostgreSQL at \(settings.host):\(settings.port) as \(settings.user) to database \(settings.database): \(Self.describe(error))", cause: error)
        }
    }

    public func close() async {
        try? await connection.close()
    }

    /// PostgreSQL's own message (and SQLSTATE) when there is one.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
            }
            return "\(error.code)"
        }
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.beginError, error.commitError].compactMap({ $0 }) {
                if let coded = inner as? IndexerError { return coded.description }
                return describe(inner)
            }
        }
        return String(describing: error)
    }

    func run(_ query: PostgresQuery, _ what: String) async throws(IndexerError) {
        do {
            try await connection.query(query, logger: logger)
        } catch {
            throw IndexerError(.database, "\(what): \(Self.describe(error))", cause: error)
        }
    }

    /// Holds the writer's advisory lock for the session, waiting up to `attempts` × 250 ms for
    /// a writer that just died to be noticed by the server.
    public func lockWriter(attempts: Int = 40) async throws(IndexerError) {
        for attempt in 1...max(1, attempts) {
            do {
                let rows = try await connection.query("SELECT pg_try_advisory_lock(\(IndexSchema.writerLockKey))", logger: logger)
                for try await locked in rows.decode(Bool.self) where locked { return }
            } catch {
                throw IndexerError(.database, "cannot take the writer's lock: \(Self.describe(error))", cause: error)
            }
            if attempt < attempts { try? await Task.sleep(nanoseconds: 250_000_000) }
        }
        throw IndexerError(.concurrentWriter, "another `kizuna index` writes to this database (it holds advisory lock \(IndexSchema.writerLockKey)); run one indexer per database")
    }

    /// Creates or checks the schema, the views and the BI role's grants, in one transaction.
    public func migrate(biRole: String?) async throws(IndexerError) {
        try await run("BEGIN", "begin the migration")
        do throws(IndexerError) {
            try await run("SELECT pg_advisory_xact_lock(\(IndexSchema.writerLockKey + 1))", "lock the migration")
            for statement in IndexSchema.tables {
                try await run(PostgresQuery(unsafeSQL: statement), "create the schema")
            }
            let version = try await schemaVersion()
            if let version, version != IndexSchema.version {
                throw IndexerError(.schemaVersion, "the database's index schema is version \(version); this indexer writes version \(IndexSchema.version) (docs/indexer.md §8)")
            }
            for statement in IndexSchema.views {
                try await run(PostgresQuery(unsafeSQL: statement), "create the BI views")
            }
            if let biRole {
                for statement in IndexSchema.grants(biRole: biRole) {
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    } catch {
                        throw IndexerError(.database, "cannot grant the BI role '\(biRole)' its views (\(Self.describe(error))); create it first, e.g. CREATE ROLE \(biRole) LOGIN PASSWORD '…'", cause: error)
                    }
                }
            }
            try await run("COMMIT", "commit the migration")
        } catch {
            try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    func schemaVersion() async throws(IndexerError) -> Int32? {
        do {
            let rows = try await connection.query("SELECT schema_version FROM kizuna.indexer_state", logger: logger)
            for try await version in rows.decode(Int32.self) { return version }
            return nil
        } catch {
            throw IndexerError(.database, "read the schema version: \(Self.describe(error))", cause: error)
        }
    }

    /// The indexed tip; nil when nothing is indexed yet.
    public func tip() async throws(IndexerError) -> Tip? {
        do {
            let rows = try await connection.query("SELECT chain_id, genesis_hash, height, tip_hash FROM kizuna.indexer_state", logger: logger)
            for try await (chainId, genesisHash, height, tipHash) in rows.decode((String, String, Int64, String).self) {
                return Tip(chainId: chainId, genesisHash: genesisHash, height: UInt64(height), tipHash: tipHash)
            }
            return nil
        } catch {
            throw IndexerError(.database, "read the indexed tip: \(Self.describe(error))", cause: error)
        }
    }

    /// Starts the index of a chain at its genesis (height 0).
    public func start(chainId: String, genesisHash: String, genesisTip: ChainTip) async throws(IndexerError) {
        try await run("""
            INSERT INTO kizuna.indexer_state (schema_version, chain_id, genesis_hash, height, tip_hash, state_root, tip_time)
            VALUES (\(IndexSchema.version), \(chainId), \(genesisHash), 0, \(genesisTip.hash.hex), \(genesisTip.stateRoot.hex), to_timestamp(\(Int64(genesisTip.timestamp))::bigint / 1000.0))
            ON CONFLICT (singleton) DO NOTHING
            """, "start the index")
    }

    /// Writes a batch of consecutive blocks after `from` (the indexed tip this writer read),
    /// the reports after them, and the new tip, in one transaction. If another writer moved
    /// the tip meanwhile, nothing is written.
    public func write(from: Tip, blocks: [BlockRows], state: StateRows, tip: ChainTip) async throws(IndexerError) {
        guard let last = blocks.last else { return }
        do {
            try await connection.withTransaction(logger: logger) { connection in
                let rows = try await connection.query("SELECT height, tip_hash FROM kizuna.indexer_state FOR UPDATE", logger: self.logger)
                var current: (Int64, String)?
                for try await row in rows.decode((Int64, String).self) { current = row }
                guard let current, UInt64(current.0) == from.height, current.1 == from.tipHash else {
                    throw IndexerError(.concurrentWriter, "the indexed tip moved from \(from.height) to \(current.map { "\($0.0)" } ?? "none") while this indexer wrote; run one indexer per database")
                }
                try await self.insert(blocks, on: connection)
                try await self.upsert(state, on: connection)
                try await connection.query("""
                    UPDATE kizuna.indexer_state SET height = \(last.block.height), tip_hash = \(tip.hash.hex), state_root = \(tip.stateRoot.hex),
                        tip_time = to_timestamp(\(Int64(tip.timestamp))::bigint / 1000.0), updated_at = now()
                    """, logger: self.logger)
            }
        } catch let error as PostgresTransactionError {
            if let coded = error.closureError as? IndexerError { throw coded }
            throw IndexerError(.database, "write blocks \(blocks.first!.block.height)…\(last.block.height): \(Self.describe(error))", cause: error)
        } catch {
            throw IndexerError(.database, "write blocks \(blocks.first!.block.height)…\(last.block.height): \(Self.describe(error))", cause: error)
        }
    }

    /// The rows of a batch's blocks: blocks, transactions and receipts each in one statement
    /// (arrays unnested on the server), settlement lines one by one (a few per redemption).
    private func insert(_ batch: [BlockRows], on connection: PostgresConnection) async throws {
        let blocks = batch.map(\.block)
        try await connection.query("""
            INSERT INTO kizuna.blocks (height, hash, parent_hash, time, time_ms, day, state_root, proposer, transaction_count, certificate)
            SELECT height, hash, parent_hash, to_timestamp(time_ms / 1000.0), time_ms, day::date, state_root, proposer, transaction_count, certificate
            FROM unnest(\(blocks.map(\.height)), \(blocks.map(\.hash)), \(blocks.map(\.parentHash)), \(blocks.map(\.timeMilliseconds)),
                        \(blocks.map(\.day)), \(blocks.map(\.stateRoot)), \(blocks.map(\.proposer)), \(blocks.map(\.transactionCount)),
                        \(blocks.map { ByteBuffer(bytes: $0.certificate) }))
                AS b(height, hash, parent_hash, time_ms, day, state_root, proposer, transaction_count, certificate)
            """, logger: logger)
        let transactions = batch.flatMap(\.transactions)
        if !transactions.isEmpty {
            // NULLs travel as empty strings (no address, amount or program id is empty).
            try await connection.query("""
                INSERT INTO kizuna.transactions (id, height, index, kind, signer, nonce, counterparty, amount, program, canonical)
                SELECT id, height, index, kind, signer, nonce, NULLIF(counterparty, ''), NULLIF(amount, '')::numeric, NULLIF(program, '')::bigint, canonical
                FROM unnest(\(transactions.map(\.id)), \(transactions.map(\.height)), \(transactions.map(\.index)), \(transactions.map(\.kind)),
                            \(transactions.map(\.signer)), \(transactions.map(\.nonce)), \(transactions.map { $0.counterparty ?? "" }),
                            \(transactions.map { $0.amount ?? "" }), \(transactions.map { $0.program.map(String.init) ?? "" }),
                            \(transactions.map { ByteBuffer(bytes: $0.canonical) }))
                    AS t(id, height, index, kind, signer, nonce, counterparty, amount, program, canonical)
                """, logger: logger)
        }
        let receipts = batch.flatMap(\.receipts)
        if !receipts.isEmpty {
            try await connection.query("""
                INSERT INTO kizuna.receipts (transaction_id, height, index)
                SELECT * FROM unnest(\(receipts.map(\.transactionId)), \(receipts.map(\.height)), \(receipts.map(\.index)))
                """, logger: logger)
        }
        for settlement in batch.flatMap(\.settlements) {
            try await connection.query("""
                INSERT INTO kizuna.settlements (merchant, sequence, line, height, time, reference, asset, funder, gross, fee, net)
                VALUES (\(settlement.merchant), \(settlement.sequence), \(settlement.line), \(settlement.height),
                        to_timestamp(\(settlement.timeMilliseconds)::bigint / 1000.0), \(settlement.reference), \(settlement.asset),
                        \(settlement.funder), \(settlement.gross), \(settlement.fee), \(settlement.net))
                """, logger: logger)
        }
        // Block by block, so an invoice paid in several blocks of the batch ends as the last left it.
        for invoice in batch.flatMap(\.invoices) {
            try await connection.query("""
                INSERT INTO kizuna.invoices (id, issuer, payer, amount, paid, payments, due_at, reference, issued_at, last_paid_at, paid_late, cancelled_at, as_of_height)
                VALUES (\(invoice.id), \(invoice.issuer), \(invoice.payer), \(invoice.amount), \(invoice.paid), \(invoice.payments),
                        to_timestamp(\(invoice.dueAtMilliseconds)::bigint / 1000.0), \(invoice.reference), to_timestamp(\(invoice.issuedAtMilliseconds)::bigint / 1000.0),
                        CASE WHEN \(invoice.lastPaidAtMilliseconds)::bigint = 0 THEN NULL ELSE to_timestamp(\(invoice.lastPaidAtMilliseconds)::bigint / 1000.0) END,
                        \(invoice.paidLate),
                        CASE WHEN \(invoice.cancelledAtMilliseconds)::bigint = 0 THEN NULL ELSE to_timestamp(\(invoice.cancelledAtMilliseconds)::bigint / 1000.0) END,
                        \(invoice.height))
                ON CONFLICT (id) DO UPDATE SET paid = excluded.paid, payments = excluded.payments, last_paid_at = excluded.last_paid_at,
                    paid_late = excluded.paid_late, cancelled_at = excluded.cancelled_at, as_of_height = excluded.as_of_height
                """, logger: logger)
        }
    }

    private func upsert(_ state: StateRows, on connection: PostgresConnection) async throws {
        func big(_ value: UInt64, _ what: String) throws -> Int64 { try BlockRows.int64(value, what) }
        // Program figures are numeric: a program's budget may be 2^64 − 1 (the charge bonus).
        func decimal(_ value: UInt64) -> String { "\(value)" }
        for program in state.programs {
            try await connection.query("""
                INSERT INTO kizuna.programs (id, name, asset, funder, issuer, budget, granted, used, expired, outstanding, remaining, per_resident_cap, rebate, as_of_height)
                VALUES (\(try big(program.id, "program id")), \(program.name), \(program.asset), \(program.funder), \(program.issuer),
                        \(decimal(program.budget))::numeric, \(decimal(program.granted))::numeric, \(decimal(program.used))::numeric,
                        \(decimal(program.expired))::numeric, \(decimal(program.outstanding))::numeric, \(decimal(program.remaining))::numeric,
                        \(decimal(program.perResidentCap))::numeric, \(program.rebate), \(state.height))
                ON CONFLICT (id) DO UPDATE SET granted = excluded.granted, used = excluded.used, expired = excluded.expired,
                    outstanding = excluded.outstanding, remaining = excluded.remaining, as_of_height = excluded.as_of_height
                """, logger: logger)
        }
        for snapshot in state.programDays {
            for program in snapshot.programs {
                try await connection.query("""
                    INSERT INTO kizuna.program_days (program_id, day, granted, used, expired, outstanding, remaining, as_of_height)
                    VALUES (\(try big(program.id, "program id")), \(snapshot.day)::date, \(decimal(program.granted))::numeric, \(decimal(program.used))::numeric,
                            \(decimal(program.expired))::numeric, \(decimal(program.outstanding))::numeric, \(decimal(program.remaining))::numeric, \(snapshot.height))
                    ON CONFLICT (program_id, day) DO UPDATE SET granted = excluded.granted, used = excluded.used, expired = excluded.expired,
                        outstanding = excluded.outstanding, remaining = excluded.remaining, as_of_height = excluded.as_of_height
                    """, logger: logger)
            }
        }
        for day in state.aggregates {
            // The day's groups are replaced as a whole: a group may disappear (suppressed
            // groups' keys are kept, with no figures).
            try await connection.query("DELETE FROM kizuna.payment_aggregates WHERE day = \(day.day)::date", logger: logger)
            for (dimension, groups) in StateRows.dimensions(day.aggregates) {
                for group in groups {
                    let suppressed = group.suppressed
                    try await connection.query("""
                        INSERT INTO kizuna.payment_aggregates (day, dimension, key, suppressed, payments, yen, residents, minimum_residents, as_of_height)
                        VALUES (\(day.day)::date, \(dimension), \(group.key), \(suppressed), \(suppressed ? nil : group.payments.map(Int64.init)),
                                \(suppressed ? nil : try group.yen.map { try big($0, "yen") }), \(suppressed ? nil : group.residents.map(Int32.init)),
                                \(Int32(day.aggregates.minimumResidents)), \(state.height))
                        """, logger: logger)
                }
            }
        }
        for report in state.unusedBalances {
            try await connection.query("""
                INSERT INTO kizuna.unused_balances (base_date, closed, outstanding_yen, deposit_required_yen, refund_limit_yen, as_of_height)
                VALUES (\(report.baseDate)::date, \(report.closed), \(try big(report.outstandingYen, "outstanding")),
                        \(try big(report.depositRequiredYen, "deposit")), \(try big(report.refundLimitFromUnusedYen, "refund limit")), \(state.height))
                ON CONFLICT (base_date) DO UPDATE SET closed = excluded.closed, outstanding_yen = excluded.outstanding_yen,
                    deposit_required_yen = excluded.deposit_required_yen, refund_limit_yen = excluded.refund_limit_yen, as_of_height = excluded.as_of_height
                """, logger: logger)
        }
    }
}
