import ArgumentParser
import Foundation
import KizunaBench

/// `kizuna bench index`: the indexer's speed on a chain of a million transactions (issue 21).
struct BenchIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "The indexer's speed (blocks/s, tx/s) into PostgreSQL on a benchmark chain, with PostgreSQL's own insert rate beside it.",
        discussion: """
        Copies the chain of --folder (a folder `kizuna bench console` built: chain/, \
        genesis.json, chain-info.json; only read) into --scratch, serves the copy as an \
        observer node does (the API on 127.0.0.1, an auditor's token), and runs the indexer \
        of `kizuna index` on it from height 0 into a new database --database of the \
        PostgreSQL server --postgres (dropped first if it exists; tools/test-postgres start \
        makes a throwaway server). Reports blocks/s and tx/s, where the time went (reading \
        from the node, verifying and replaying, reports, writing), the load average, and the \
        machine's limits measured in the same run: Ed25519 verifications per second, and \
        PostgreSQL's insert rate for the same rows copied again server-side in the same \
        batches. Build in release: swift build -c release.
        """
    )

    @Option(help: "The chain folder (built by kizuna bench console; only read).") var folder = ".kizuna/bench-console"
    @Option(help: "Scratch folder for the chain's copy (deleted and recreated, removed at the end).") var scratch = ".kizuna/bench-index"
    @Option(help: "The PostgreSQL server, postgres://USER@HOST:PORT/DATABASE, as a role that may create databases (password: KIZUNA_POSTGRES_PASSWORD).") var postgres: String
    @Option(help: "The database to index into (dropped and recreated).") var database = "kizuna_bench_index"
    @Option(help: "Blocks per PostgreSQL transaction (indexer.batchBlocksMax).") var batchBlocks = 64
    @Option(help: "Also scan the whole state for the ledger's invariants every this many blocks, 0: never (indexer.invariantsEveryBlocks; they are checked after every block regardless).") var invariantsEvery: UInt64 = 0
    @Option(help: "Index up to this height only (default: the chain's tip).") var untilHeight: UInt64?
    @Option(help: "Ed25519 verifications per core for the machine's limit.") var verifyPerCore = 20_000
    @OptionGroup var output: BenchResultFile

    func validate() throws {
        guard (1...10_000).contains(batchBlocks) else { throw ValidationError("--batch-blocks must be between 1 and 10000") }
        guard verifyPerCore >= 1 else { throw ValidationError("--verify-per-core must be positive") }
    }

    func run() async throws {
        let benchmark = IndexBenchmark(folder: folder, scratch: scratch, postgresURL: postgres, database: database, batchBlocksMax: batchBlocks,
                                       invariantsEveryBlocks: invariantsEvery, untilHeight: untilHeight, verifyPerCore: verifyPerCore)
        let result = try await benchmark.run(progress: { line in
            print("bench: \(line)")
            fflush(nil)
        })
        let machine = result.machine
        let cpu = result.postgresBackendCPUSeconds.map { String(format: "%.1f s", $0) } ?? "not read"
        print("""

        chain: \(result.chainBlocks) blocks, \(result.chainTransactions) transactions (\(result.chainFolder)); \(machine.cores) cores; \(result.build) build
        \(String(format: "indexed %d blocks, %d transactions in %.1f s: %.2f blocks/s, %.0f tx/s (batches of %d blocks, full invariant scans every %llu)", result.indexedBlocks, result.indexedTransactions, result.seconds, result.blocksPerSecond, result.transactionsPerSecond, result.batchBlocksMax, result.invariantsEveryBlocks))
        \(String(format: "time: read %.1f s, verify and replay %.1f s, reports %.1f s, write %.1f s; CPU %.1f s (this process: %.0f tx per CPU second), %@ (PostgreSQL's backend); peak RSS %.0f MB", result.readSeconds, result.verifySeconds, result.reportsSeconds, result.writeSeconds, result.processCPUSeconds, result.transactionsPerCPUSecond, cpu, Double(result.peakRSSBytes) / 1e6))
        \(String(format: "database: %.0f MB, %.0f bytes per transaction; rows equal the chain: %@; tip hash equals the chain's: %@", Double(result.databaseBytes) / 1e6, result.databaseBytesPerTransaction, result.rowsMatchChain ? "yes" : "NO", result.tipHashMatchesChain ? "yes" : "NO"))
        \(String(format: "load average: %.2f at the start, %.2f at the end, %.2f at most", result.loadAverageStart, result.loadAverageEnd, result.loadAverageMax))
        \(String(format: "limits: ed25519 %.0f/s one core, %.0f/s all cores; PostgreSQL %@ %.0f transaction rows/s server-side (%.1f blocks/s, %.1f s)", machine.ed25519VerifyPerSecondOneCore, machine.ed25519VerifyPerSecondAllCores, machine.postgresVersion, machine.postgresTransactionRowsPerSecond, machine.postgresBlocksPerSecond, machine.postgresSeconds))
        \(String(format: "ratios: %.3f of PostgreSQL's rate, %.3f of the signature rate", result.ratioToPostgres, result.ratioToSignatures))
        """)
        fflush(nil)
        try output.write(result)
        guard result.rowsMatchChain, result.tipHashMatchesChain else {
            FileHandle.standardError.write(Data("bench index: the index does not equal the chain (rows or tip hash differ)\n".utf8))
            throw ExitCode(1)
        }
    }
}
