import KizunaCore
import KizunaChain
import KizunaNode
import KizunaAPI
import KizunaIndexer
import KizunaRocksDB
import Logging
import PostgresNIO
import Foundation
import Dispatch

/// `kizuna bench index`: the indexer's speed (issue 21, docs/indexer.md) on a chain of a
/// million transactions, with the machine's limits measured in the same run.
///
/// The chain is a benchmark chain folder (`chain/`, `genesis.json`, `chain-info.json`), as
/// `kizuna bench console` writes it; it is copied into a scratch folder first, so the folder
/// given is only read. The copy is served as an observer node serves it (a `Node` that
/// produces nothing, the API's router, Hummingbird on 127.0.0.1) with an auditor's token, and
/// the real indexer (`Indexer`, the code of `kizuna index`) indexes it from height 0 into a
/// new database of the PostgreSQL server given, as `kizuna index --until-height` would.
///
/// The limits beside the figure: Ed25519 verifications per second (the indexer verifies every
/// signature), and PostgreSQL's own insert rate for the same rows — every indexed block,
/// transaction and receipt copied again, server-side (`INSERT … SELECT`), into tables of the
/// same shape, keys and foreign keys, in transactions of the same batches: what the database
/// takes when nothing has to be read, verified or sent to it.
public struct IndexBenchmark: Sendable {
    /// The chain folder (only read).
    public var folder: String
    /// The scratch folder for the chain's copy (deleted and recreated, removed at the end).
    public var scratch: String
    /// `postgres://USER@HOST:PORT/DATABASE`: a role that may create databases; the benchmark
    /// creates (and drops first) the database `database` there.
    public var postgresURL: String
    public var database: String
    public var batchBlocksMax: Int
    public var invariantsEveryBlocks: UInt64
    /// Index up to this height only (nil: the chain's tip).
    public var untilHeight: UInt64?
    public var verifyPerCore: Int

    public init(folder: String, scratch: String, postgresURL: String, database: String, batchBlocksMax: Int, invariantsEveryBlocks: UInt64, untilHeight: UInt64?, verifyPerCore: Int) {
        self.folder = folder
        self.scratch = scratch
        self.postgresURL = postgresURL
        self.database = database
        self.batchBlocksMax = batchBlocksMax
        self.invariantsEveryBlocks = invariantsEveryBlocks
        self.untilHeight = untilHeight
        self.verifyPerCore = verifyPerCore
    }

    public struct Machine: Codable, Sendable {
        public var cores: Int
        public var ed25519VerifyPerSecondOneCore: Double
        public var ed25519VerifyPerSecondAllCores: Double
        /// PostgreSQL's insert rate for the indexed rows, server-side, in the same batches.
        public var postgresTransactionRowsPerSecond: Double
        public var postgresBlocksPerSecond: Double
        public var postgresSeconds: Double
        public var postgresVersion: String
    }

    public struct Result: Codable, Sendable {
        public var date: String
        public var build: String
        public var chainFolder: String
        public var chainBlocks: UInt64
        public var chainTransactions: Int
        public var batchBlocksMax: Int
        public var invariantsEveryBlocks: UInt64
        public var indexedHeight: UInt64
        public var indexedBlocks: Int
        public var indexedTransactions: Int
        public var seconds: Double
        public var blocksPerSecond: Double
        public var transactionsPerSecond: Double
        /// Summed over the batches (the indexer's own timing).
        public var readSeconds: Double
        public var verifySeconds: Double
        public var reportsSeconds: Double
        public var writeSeconds: Double
        /// CPU seconds of this process (node serving + indexer) during the indexing, and of
        /// the PostgreSQL backend the indexer wrote through (sampled every 2 s: the last
        /// sample before it closed).
        public var processCPUSeconds: Double
        public var postgresBackendCPUSeconds: Double?
        /// Indexed transactions per CPU second of this process: less dependent on what else
        /// the machine runs than the wall-clock rate.
        public var transactionsPerCPUSecond: Double
        public var peakRSSBytes: UInt64
        /// The database's size after the run, and per indexed transaction.
        public var databaseBytes: Int64
        public var databaseBytesPerTransaction: Double
        /// Rows in `kizuna.transactions` after the run and the tip hash the index holds equal
        /// the chain's.
        public var rowsMatchChain: Bool
        public var tipHashMatchesChain: Bool
        /// 1-minute load average of the machine (other processes included) at the start, the
        /// end and the highest sampled every 5 s while indexing.
        public var loadAverageStart: Double
        public var loadAverageEnd: Double
        public var loadAverageMax: Double
        public var machine: Machine
        /// The indexing's tx/s ÷ PostgreSQL's server-side rate, and ÷ the transactions whose
        /// signatures all cores verify per second.
        public var ratioToPostgres: Double
        public var ratioToSignatures: Double
    }

    struct ChainInfo: Decodable {
        var genesisHash: String
        var blocks: UInt64
        var transactions: Int
    }

    static let auditorToken = "bench-index-auditor-token"

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let source = BenchChainFolder(path: folder)
        guard let data = FileManager.default.contents(atPath: source.infoPath), let info = try? JSONDecoder().decode(ChainInfo.self, from: data) else {
            throw BenchChainError(message: "\(source.infoPath) is missing or not a chain's info: build a chain first (kizuna bench console --folder \(folder))")
        }
        let genesis = try Genesis.load(path: source.genesisPath)
        guard genesis.hash.hex == info.genesisHash else { throw BenchChainError(message: "\(source.genesisPath) is not the genesis the chain in \(folder) was built from") }
        let target = min(untilHeight ?? info.blocks, info.blocks)
        guard target > 0 else { throw BenchChainError(message: "nothing to index: the chain in \(folder) has no blocks") }

        // The machine's limit for signatures, before anything else runs.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let (verifyOne, verifyAll) = SingleNodeBenchmark.measureEd25519Verify(cores: cores, perCore: verifyPerCore)
        progress(String(format: "ed25519 verify %.0f/s on one core, %.0f/s on %d cores; load average %.2f", verifyOne, verifyAll, cores, BenchProcessStats.loadAverage()))

        // A copy of the chain: a node opens its store for writing.
        let manager = FileManager.default
        if manager.fileExists(atPath: scratch) { try manager.removeItem(atPath: scratch) }
        try manager.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? manager.removeItem(atPath: scratch) }
        let copy = BenchChainFolder(path: scratch)
        try manager.copyItem(atPath: source.chainPath, toPath: copy.chainPath)
        try manager.copyItem(atPath: source.genesisPath, toPath: copy.genesisPath)
        try Data((Self.auditorToken + "\n").utf8).write(to: URL(fileURLWithPath: scratch + "/auditor.token"))
        progress("copied \(info.blocks) blocks (\(info.transactions) transactions) from \(folder) to \(scratch)")

        // The node: an observer serving the copy over the API, with an auditor's token.
        let store = try RocksDBStore(path: copy.chainPath)
        defer { store.close() }
        let blocks = try BlockStore(store: store, genesis: genesis)
        let tipHash = try blocks.block(at: target)?.hash.hex
        let (node, logger) = try benchObserverNode(
            genesis: genesis, blocks: blocks, credential: "bench indexer", role: .auditor, token: Self.auditorToken, label: "kizuna.bench.index"
        )
        let (port, server) = try await serveBenchRouter(APIServer.router(node: node, logger: logger), serverName: "kizuna-bench-index", logger: logger)
        defer { server.cancel() }

        // The database: a new one on the server given.
        let postgres = try BenchPostgres(url: postgresURL)
        try await postgres.recreate(database: database)
        let indexerConfiguration = IndexerConfiguration(
            genesisFile: copy.genesisPath, nodeURL: "http://127.0.0.1:\(port)", tokenFile: scratch + "/auditor.token",
            postgres: .init(host: postgres.host, port: postgres.port, user: postgres.user, database: database),
            batchBlocksMax: batchBlocksMax, invariantsEveryBlocks: invariantsEveryBlocks, logLevel: "warning"
        )
        progress("serving the chain at http://127.0.0.1:\(port) (an observer, auditor's token); indexing blocks 1…\(target) into \(database) at \(postgres.host):\(postgres.port), \(batchBlocksMax) blocks per transaction, invariants after every block (full scans every \(invariantsEveryBlocks) blocks; 0: none)")

        // The indexing, sampled every 2 s: the load average, and the CPU time of the server
        // process that writes for the indexer (a progress line every 10 s).
        let loadStart = BenchProcessStats.loadAverage()
        let sampler = BenchLoadSampler()
        let monitor = try await postgres.connect(postgres.adminDatabase)
        let sampling = Task {
            while !Task.isCancelled {
                sampler.sample(load: BenchProcessStats.loadAverage(), backendCPU: await postgres.busiestBackendCPU(database: database, on: monitor))
                try? await Task.sleep(nanoseconds: 2_000_000_000)
            }
        }
        let cpuBefore = BenchProcessStats.cpuSeconds(getpid()) ?? 0
        let started = benchNow()
        let last = BenchLastProgress()
        let indexer = try Indexer(configuration: indexerConfiguration, logger: logger)
        do {
            try await indexer.run(untilHeight: target) { report in
                last.set(report)
                if last.shouldPrint() {
                    progress(String(format: "indexed %llu/%llu blocks, %d transactions, %.1f blocks/s, %.0f tx/s (read %.0f s, verify %.0f s, reports %.0f s, write %.0f s); load average %.2f",
                                    report.height, target, report.transactions, report.blocksPerSecond, report.transactionsPerSecond,
                                    report.readSeconds, report.verifySeconds, report.reportsSeconds, report.writeSeconds, BenchProcessStats.loadAverage()))
                }
            }
        } catch {
            sampling.cancel()
            try? await monitor.close()
            throw error
        }
        let seconds = Double(benchNow() - started) / 1e9
        let cpu = (BenchProcessStats.cpuSeconds(getpid()) ?? 0) - cpuBefore
        sampling.cancel()
        _ = await sampling.value
        try? await monitor.close()
        let loadEnd = BenchProcessStats.loadAverage()
        sampler.sample(load: loadEnd, backendCPU: nil)
        guard let report = last.value else { throw BenchChainError(message: "the indexer wrote nothing") }
        progress(String(format: "indexed %d blocks, %d transactions in %.1f s: %.1f blocks/s, %.0f tx/s; load average %.2f", report.blocks, report.transactions, seconds,
                        Double(report.blocks) / seconds, Double(report.transactions) / seconds, loadEnd))

        // Checks, size, and PostgreSQL's own rate for the same rows.
        let check = try await postgres.check(database: database)
        let rowsExpected = target == info.blocks ? info.transactions : try transactions(in: blocks, through: target)
        progress("PostgreSQL's own rate: copying the indexed rows again, server-side, in batches of \(batchBlocksMax) blocks")
        let probe = try await postgres.insertRate(database: database, height: target, batchBlocks: batchBlocksMax)
        progress(String(format: "PostgreSQL %@: %.0f transaction rows/s (%.1f blocks/s) server-side; load average %.2f", probe.version, probe.rowsPerSecond, probe.blocksPerSecond, BenchProcessStats.loadAverage()))
        let transactionsPerSecond = Double(report.transactions) / seconds
        let machine = Machine(cores: cores, ed25519VerifyPerSecondOneCore: verifyOne, ed25519VerifyPerSecondAllCores: verifyAll,
                              postgresTransactionRowsPerSecond: probe.rowsPerSecond, postgresBlocksPerSecond: probe.blocksPerSecond,
                              postgresSeconds: probe.seconds, postgresVersion: probe.version)
        return Result(
            date: ISO8601DateFormatter().string(from: Date()), build: benchBuildConfiguration, chainFolder: folder,
            chainBlocks: info.blocks, chainTransactions: info.transactions, batchBlocksMax: batchBlocksMax, invariantsEveryBlocks: invariantsEveryBlocks,
            indexedHeight: report.height, indexedBlocks: report.blocks, indexedTransactions: report.transactions, seconds: seconds,
            blocksPerSecond: Double(report.blocks) / seconds, transactionsPerSecond: transactionsPerSecond,
            readSeconds: report.readSeconds, verifySeconds: report.verifySeconds, reportsSeconds: report.reportsSeconds, writeSeconds: report.writeSeconds,
            processCPUSeconds: cpu, postgresBackendCPUSeconds: sampler.backendCPU, transactionsPerCPUSecond: Double(report.transactions) / max(cpu, 1e-9),
            peakRSSBytes: BenchProcessStats.peakRSSBytes(getpid()) ?? 0,
            databaseBytes: check.databaseBytes, databaseBytesPerTransaction: Double(check.databaseBytes) / Double(max(1, report.transactions)),
            rowsMatchChain: check.transactionRows == rowsExpected, tipHashMatchesChain: check.height == target && check.tipHash == tipHash,
            loadAverageStart: loadStart, loadAverageEnd: loadEnd, loadAverageMax: sampler.maximum,
            machine: machine, ratioToPostgres: transactionsPerSecond / max(probe.rowsPerSecond, 1e-9),
            ratioToSignatures: transactionsPerSecond / max(verifyAll, 1e-9)
        )
    }

    /// Transactions in blocks 1…`height` of the chain.
    func transactions(in blocks: BlockStore, through height: UInt64) throws -> Int {
        var count = 0
        for index in 1...height {
            guard let block = try blocks.block(at: index) else { throw BenchChainError(message: "block \(index) is missing from the chain's copy") }
            count += block.transactions.count
        }
        return count
    }
}

/// The highest load average sampled, and the last CPU time read of a process.
final class BenchLoadSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var highest = 0.0
    private var cpu: Double?
    func sample(load: Double, backendCPU: Double?) {
        lock.withLock {
            highest = max(highest, load)
            if let backendCPU { cpu = max(cpu ?? 0, backendCPU) }
        }
    }
    var maximum: Double { lock.withLock { highest } }
    var backendCPU: Double? { lock.withLock { cpu } }
}

/// The indexer's last progress report, and whether 10 s passed since the last line printed.
final class BenchLastProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var report: Indexer.Progress?
    private var printed: UInt64 = 0
    func set(_ value: Indexer.Progress) { lock.withLock { report = value } }
    var value: Indexer.Progress? { lock.withLock { report } }
    func shouldPrint() -> Bool {
        lock.withLock {
            let now = benchNow()
            guard now - printed >= 10_000_000_000 else { return false }
            printed = now
            return true
        }
    }
}

/// The PostgreSQL server a benchmark writes to: `postgres://USER@HOST:PORT/DATABASE`.
struct BenchPostgres {
    let host: String
    let port: Int
    let user: String
    let adminDatabase: String
    static let logger = Logger(label: "kizuna.bench.postgres")

    init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, let user = components.user else {
            throw BenchChainError(message: "--postgres must look like postgres://USER@HOST:PORT/DATABASE (tools/test-postgres start prints one), not \(url)")
        }
        self.host = host
        port = components.port ?? 5432
        self.user = user
        adminDatabase = components.path.count > 1 ? String(components.path.dropFirst()) : "postgres"
    }

    func connect(_ database: String) async throws -> PostgresConnection {
        do {
            let configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: ProcessInfo.processInfo.environment["KIZUNA_POSTGRES_PASSWORD"], database: database, tls: .disable)
            return try await PostgresConnection.connect(configuration: configuration, id: Int.random(in: 1...1_000_000), logger: Self.logger)
        } catch {
            throw BenchChainError(message: "cannot connect to PostgreSQL at \(host):\(port) as \(user) to \(database): \(String(reflecting: error))")
        }
    }

    /// Drops `database` if it exists and creates it empty.
    func recreate(database: String) async throws {
        guard database.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), database.first?.isLetter == true else {
            throw BenchChainError(message: "the database name \(database) must be letters, digits and _, starting with a letter")
        }
        let admin = try await connect(adminDatabase)
        defer { Task { try? await admin.close() } }
        try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database)"), logger: Self.logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: Self.logger)
    }

    /// The CPU seconds of the busiest server process connected to `database` (the indexer's
    /// backend), read from /proc: the server runs on this machine.
    func busiestBackendCPU(database: String, on connection: PostgresConnection) async -> Double? {
        var pids: [Int32] = []
        if let rows = try? await connection.query("SELECT pid FROM pg_stat_activity WHERE datname = \(database)", logger: Self.logger) {
            do {
                for try await pid in rows.decode(Int32.self) { pids.append(pid) }
            } catch {
                return nil
            }
        }
        return pids.compactMap { BenchProcessStats.cpuSeconds($0) }.max()
    }

    struct Check {
        var height: UInt64
        var tipHash: String
        var transactionRows: Int
        var databaseBytes: Int64
    }

    func check(database: String) async throws -> Check {
        let connection = try await connect(database)
        defer { Task { try? await connection.close() } }
        var check = Check(height: 0, tipHash: "", transactionRows: -1, databaseBytes: 0)
        let state = try await connection.query("SELECT height, tip_hash FROM kizuna.indexer_state", logger: Self.logger)
        for try await (height, hash) in state.decode((Int64, String).self) {
            check.height = UInt64(height)
            check.tipHash = hash
        }
        let sizes = try await connection.query("SELECT (SELECT count(*) FROM kizuna.transactions), pg_database_size(current_database())", logger: Self.logger)
        for try await (rows, bytes) in sizes.decode((Int64, Int64).self) {
            check.transactionRows = Int(rows)
            check.databaseBytes = bytes
        }
        return check
    }

    struct InsertRate {
        var rowsPerSecond: Double
        var blocksPerSecond: Double
        var seconds: Double
        var version: String
    }

    /// Copies the indexed blocks, transactions and receipts again into tables of the same
    /// shape (keys, indexes and foreign keys), `batchBlocks` blocks per transaction, each a
    /// committed transaction as the indexer's are: the server's own insert rate for these rows.
    func insertRate(database: String, height: UInt64, batchBlocks: Int) async throws -> InsertRate {
        let connection = try await connect(database)
        defer { Task { try? await connection.close() } }
        for statement in [
            "DROP SCHEMA IF EXISTS kizuna_probe CASCADE", "CREATE SCHEMA kizuna_probe",
            "CREATE TABLE kizuna_probe.blocks (LIKE kizuna.blocks INCLUDING ALL)",
            "CREATE TABLE kizuna_probe.transactions (LIKE kizuna.transactions INCLUDING ALL)",
            "ALTER TABLE kizuna_probe.transactions ADD FOREIGN KEY (height) REFERENCES kizuna_probe.blocks (height)",
            "CREATE TABLE kizuna_probe.receipts (LIKE kizuna.receipts INCLUDING ALL)",
            "ALTER TABLE kizuna_probe.receipts ADD FOREIGN KEY (transaction_id) REFERENCES kizuna_probe.transactions (id)",
        ] {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
        }
        var version = ""
        let versions = try await connection.query("SHOW server_version", logger: Self.logger)
        for try await text in versions.decode(String.self) { version = text }
        let step = Int64(max(1, batchBlocks))
        let started = benchNow()
        var from: Int64 = 1
        while from <= Int64(height) {
            let to = min(Int64(height), from + step - 1)
            try await connection.query("BEGIN", logger: Self.logger)
            try await connection.query("INSERT INTO kizuna_probe.blocks SELECT * FROM kizuna.blocks WHERE height BETWEEN \(from) AND \(to)", logger: Self.logger)
            try await connection.query("INSERT INTO kizuna_probe.transactions SELECT * FROM kizuna.transactions WHERE height BETWEEN \(from) AND \(to)", logger: Self.logger)
            try await connection.query("INSERT INTO kizuna_probe.receipts SELECT * FROM kizuna.receipts WHERE height BETWEEN \(from) AND \(to)", logger: Self.logger)
            try await connection.query("COMMIT", logger: Self.logger)
            from = to + 1
        }
        let seconds = Double(benchNow() - started) / 1e9
        var rows = 0
        let counted = try await connection.query("SELECT count(*) FROM kizuna_probe.transactions", logger: Self.logger)
        for try await count in counted.decode(Int64.self) { rows = Int(count) }
        try await connection.query("DROP SCHEMA kizuna_probe CASCADE", logger: Self.logger)
        return InsertRate(rowsPerSecond: Double(rows) / seconds, blocksPerSecond: Double(height) / seconds, seconds: seconds, version: version)
    }
}
