import ArgumentParser
import Foundation
import KizunaChain
import KizunaBench
import KizunaNode

/// `kizuna bench audit`: the auditor's tool on a chain of a million transactions, as a ratio
/// to the machine's Ed25519 verifications per second on all cores (issue 7).
struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit throughput (transactions verified and replayed per second) on a chain of N transactions.",
        discussion: """
        Builds a chain of at least --transactions transactions through a real single-validator \
        node into RocksDB (residents registered and charged, then coin sends in rounds), in \
        --folder: chain/ (the node's store), genesis.json and chain-info.json. A folder that \
        already holds a complete chain of this size is reused (--fresh rebuilds it); the same \
        chain can be audited by hand with `kizuna audit --genesis F/genesis.json --data F`. \
        Then measures Ed25519 verifications per second on all cores, runs the audit exactly \
        as `kizuna audit --data` does (read-only, every signature on all cores, full replay, \
        invariants, stored state compared), measures the verify rate again, and reports the \
        audit's transactions per second as a ratio to it. With the breakdown (default) it then \
        times a read-only pass and a read-and-verify pass over the chain to separate signature \
        verification from the replay. Build in release: swift build -c release.
        """
    )

    @Option(help: "Transactions in the chain, set-up included (at least 3 per resident).") var transactions = 1_000_000
    @Option(help: "Residents (default: one per 100 transactions, at most 10,000).") var residents: Int?
    @Option(help: "Transactions per block.") var blockTransactions = 2000
    @Option(help: "Scratch folder for the chain (reused if it holds a chain of this size).") var folder = ".kizuna/bench-audit"
    @Flag(help: "Rebuild the chain even if the folder holds one of this size.") var fresh = false
    @Option(help: "Also scan the whole state for the invariants every N blocks, as `kizuna audit --invariants-every` (0: only at the tip; they are checked after every block regardless).") var invariantsEvery: UInt64 = 0
    @Flag(inversion: .prefixedNo, help: "After the audit, time a read-only and a read-and-verify pass to separate verification from replay.") var breakdown = true
    @OptionGroup var output: BenchResultFile

    func validate() throws {
        guard transactions > 0, blockTransactions > 0 else { throw ValidationError("--transactions and --block-transactions must be positive") }
        if let residents, residents < 2 { throw ValidationError("--residents must be at least 2") }
    }

    func run() async throws {
        let benchmark = AuditBenchmark(
            transactions: transactions, residents: residents ?? AuditBenchmark.defaultResidents(transactions: transactions),
            blockTransactionsMax: blockTransactions, folder: folder, fresh: fresh, invariantsEveryBlocks: invariantsEvery, breakdown: breakdown
        )
        let result = try await benchmark.run(progress: { line in
            print("bench: \(line)")
            fflush(nil)
        }, auditProgress: { progress in
            // The same progress line as `kizuna audit`.
            let line = String(format: "\raudit: block %llu/%llu  %.0f blocks/s  %.0f tx/s  %.0f s left   ", progress.height, progress.tip, progress.blocksPerSecond, progress.transactionsPerSecond, progress.secondsLeft)
            FileHandle.standardError.write(Data(line.utf8))
            if progress.height == progress.tip { FileHandle.standardError.write(Data("\n".utf8)) }
        })
        let whole = { (value: Double) in grouped(Int(value.rounded())) }
        var rows = """
        | measure | value |
        |---|---|
        | cores | \(result.cores) |
        | chain | \(result.blocks) blocks of ≤\(result.blockTransactionsMax), \(grouped(result.transactions)) transactions, \(grouped(result.residents)) residents (\(result.chainReused ? "reused" : "built in \(whole(result.chainSetupSeconds)) s")) |
        | chain on disk (RocksDB, after compaction) | \(String(format: "%.1f MiB", Double(result.chainBytesOnDisk) / 1_048_576)) (\(whole(Double(result.chainBytesOnDisk) / Double(result.transactions))) bytes per transaction) |
        | audit time (invariants after every block; full scans \(result.invariantsEveryBlocks == 0 ? "at the tip only" : "every \(result.invariantsEveryBlocks) blocks and at the tip")) | \(String(format: "%.1f s (CPU: %.1f s all threads, %.1f s the auditing thread)", result.auditSeconds, result.auditCPUSeconds, result.auditThreadCPUSeconds)) |
        | audit transactions/s | \(whole(result.transactionsPerSecond)) |
        | audit blocks/s | \(String(format: "%.2f", result.blocksPerSecond)) |
        | reports from the replayed chain | \(String(format: "%.2f s", result.reportsSeconds)) |
        | Ed25519 verify/s, one core (before / after) | \(whole(result.ed25519VerifyPerSecondOneCoreBefore)) / \(whole(result.ed25519VerifyPerSecondOneCoreAfter)) |
        | Ed25519 verify/s, all cores (before / after) | \(whole(result.ed25519VerifyPerSecondAllCoresBefore)) / \(whole(result.ed25519VerifyPerSecondAllCoresAfter)) |
        | audit tx/s ÷ all-cores verify/s (mean; before, after) | \(String(format: "%.3f (%.3f, %.3f)", result.ratioToVerifyAllCores, result.ratioToVerifyAllCoresBefore, result.ratioToVerifyAllCoresAfter)) |
        """
        if let parts = result.breakdown {
            rows += "\n" + """
            | breakdown: read and decode every block and certificate | \(String(format: "%.1f s", parts.readSeconds)) |
            | breakdown: read + verify every signature on all cores | \(String(format: "%.1f s", parts.readAndVerifySeconds)) (\(whole(parts.transactionVerifyPerSecondAllCores)) tx verified/s) |
            | breakdown: the rest of the audit (replay, one core) | \(String(format: "%.1f s", parts.replaySecondsEstimate)) (\(whole(parts.replayTransactionsPerSecondEstimate)) tx/s) |
            """
        }
        print("\n" + rows + "\n\ntip \(result.tipHash), state root \(result.stateRoot)")
        fflush(nil)
        try output.write(result)
    }

    /// 1234567 → "1,234,567".
    private func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}
