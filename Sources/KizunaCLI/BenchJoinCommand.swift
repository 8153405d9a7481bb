import ArgumentParser
import Foundation
import KizunaBench

/// `kizuna bench join`: joining a long chain by block sync from genesis vs from a state
/// snapshot (issue 20's measure, docs/snapshots.md).
struct BenchJoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Time a new node joining a long chain: block sync from genesis vs a state snapshot.",
        discussion: """
        Copies a chain folder written by 'kizuna bench console' (--source: chain/, genesis.json, \
        chain-info.json; the original is never opened) into --folder, starts a node on the copy \
        that serves it (it checks the whole chain at start), asks it for a snapshot of its tip \
        (POST /v1/admin/snapshot), then starts two new nodes one after the other with it as their \
        only peer: one syncs every block from genesis, one starts with --from-snapshot. Reports \
        each time from process start until the node's tip is the server's (same block hash and \
        state root checked), the snapshot's size and time, Ed25519 verify/s measured in the same \
        run, and /proc/loadavg beside every figure. Build in release: swift build -c release.
        """
    )

    @Option(help: "A chain folder of 'kizuna bench console'.") var source = ".kizuna/bench-console"
    @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench-join"
    @Option(help: "Seconds each wait (the server's start, each join) may take.") var timeout: Double = 3600
    @OptionGroup var output: BenchResultFile

    func run() async throws {
        let options = JoinBenchmark.Options(source: source, folder: folder, executable: BenchNetworkCommand.currentExecutable(), timeoutSeconds: timeout)
        let result = try await JoinBenchmark(options: options).run { line in
            print("bench: \(line)")
            fflush(nil)
        }
        let load = result.loadAverages
        print("""

        | join of a new node (\(result.transactions) transactions, height \(result.height)) | seconds | load average (1/5/15 min) |
        |---|---|---|
        \(String(format: "| Ed25519 verify/s: one core / %d cores | %.0f / %.0f | %@ |", result.cores, result.ed25519VerifyPerSecondOneCore, result.ed25519VerifyPerSecondAllCores, load["ed25519"] ?? "?"))
        \(String(format: "| serving node's start check of the whole chain | %.1f | %@ |", result.serverStartSeconds, load["server"] ?? "?"))
        \(String(format: "| snapshot of the tip (%d records, %d bytes) | %.1f | %@ |", result.snapshotRecords, result.snapshotBytes, result.snapshotSeconds, load["snapshot"] ?? "?"))
        \(String(format: "| join by block sync from genesis | %.1f | %@ |", result.joinFromGenesisSeconds, load["from-genesis"] ?? "?"))
        \(String(format: "| join from the snapshot | %.1f | %@ |", result.joinFromSnapshotSeconds, load["from-snapshot"] ?? "?"))
        \(String(format: "| genesis ÷ snapshot | %.1f× | |", result.joinFromGenesisSeconds / max(result.joinFromSnapshotSeconds, 0.001)))
        | both joined nodes on the server's tip hash and state root | \(result.sameTip ? "yes" : "NO") | |
        """)
        fflush(nil)
        try output.write(result)
        guard result.sameTip else { throw ExitCode(1) }
    }
}
