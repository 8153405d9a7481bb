import ArgumentParser
import Foundation
import KizunaBench
import KizunaNode

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: a single validator (default) and the ledger state machine.",
        subcommands: [Node.self, LedgerStateMachine.self, Tree.self, BenchNetworkCommand.self, BenchAuditCommand.self, BenchConsoleCommand.self, BenchIndexCommand.self, BenchCardCommand.self, BenchJoinCommand.self, Link.self],
        defaultSubcommand: Node.self
    )

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "link",
            abstract: "Frames per second through the frame codec, plain and inside the encrypted peer link (one core, no sockets).",
            discussion: "Runs each size given with --frame-bytes; the result is the cost of ADR 0008's records on top of framing."
        )
        @Option(help: "Payload sizes to measure (repeat).") var frameBytes: [Int] = [256, 4096, 65536]
        @Option(help: "Frames per size.") var frames = 20_000

        func run() throws {
            for size in frameBytes {
                let result = try LinkBenchmark(frameBytes: size, frames: frames).run()
                print(String(format: "link bench: %7d-byte frames  plain %10.0f frames/s  encrypted %10.0f frames/s  (%.2fx, +%.2f µs per frame)",
                             size, result.plainFramesPerSecond, result.encryptedFramesPerSecond,
                             result.plainFramesPerSecond / result.encryptedFramesPerSecond, result.microsecondsPerFrameAdded))
            }
        }
    }

    struct Tree: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tree",
            abstract: "The state tree's cost per block on RocksDB at several sizes, reading every node from the store and with the upper levels in memory (ADR 0013).",
            discussion: """
            Builds a tree of random keys per size, compacts, then applies --blocks blocks of \
            --block-keys keys (80% changes, 10% inserts, 10% deletes) twice on the same store: \
            reading every node from RocksDB, then with the upper --cache-levels levels kept in \
            memory. Then checks the root against the direct definition and --proofs proofs of \
            presence and of absence against it.
            """
        )
        @Option(help: "State sizes in keys (repeat).") var keys: [Int] = [10_000, 1_000_000]
        @Option(help: "Keys touched per block.") var blockKeys = 2_000
        @Option(help: "Measured blocks per size and reading.") var blocks = 20
        @Option(help: "Proofs of presence (and as many of absence) checked per size.") var proofs = 1_000
        @Option(help: "Levels of the tree kept in memory.") var cacheLevels = TreeBenchmark.cacheLevelsDefault
        @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench-tree"
        @OptionGroup var output: BenchResultFile

        func validate() throws {
            guard (0...TreeBenchmark.cacheLevelsMax).contains(cacheLevels) else {
                throw ValidationError("--cache-levels must be between 0 and \(TreeBenchmark.cacheLevelsMax)")
            }
            guard keys.allSatisfy({ $0 >= 100 }) else { throw ValidationError("every --keys must be at least 100") }
        }

        func run() throws {
            let result = try TreeBenchmark(sizes: keys, blockKeys: blockKeys, blocks: blocks, proofs: proofs, folder: folder, cacheLevels: cacheLevels).run {
                print("bench: \($0)")
                fflush(nil)
            }
            print("\n| keys | reading | update µs per touched key (CPU) | write µs per key | store reads per key | batch ops per key | cache hits / misses |")
            print("|---|---|---|---|---|---|---|")
            for row in result.rows {
                print(String(format: "| %d | %@ | %.1f (%.1f) | %.1f | %.2f | %.2f | %d / %d |", row.keys, row.reading, row.updateMicrosecondsPerKey,
                             row.updateCPUMicrosecondsPerKey, row.writeMicrosecondsPerKey, row.storeReadsPerKey, row.batchOperationsPerKey, row.cacheHits, row.cacheMisses))
            }
            print("\n| keys | build + compaction | stored nodes | root = definition | presence proofs verified | absence proofs verified | siblings per proof | bytes per proof |")
            print("|---|---|---|---|---|---|---|---|")
            var failed = false
            for check in result.checks {
                print(String(format: "| %d | %.1f s | %d | %@ | %d / %d | %d / %d | %.1f | %.0f |", check.keys, check.buildSeconds, check.storedNodes,
                             check.rootMatchesDefinition ? "yes" : "NO", check.presenceProofsVerified, check.proofsChecked / 2,
                             check.absenceProofsVerified, check.proofsChecked / 2, check.averageProofSiblings, check.averageProofBytes))
                failed = failed || !check.rootMatchesDefinition || check.presenceProofsVerified + check.absenceProofsVerified != check.proofsChecked
            }
            fflush(nil)
            try output.write(result)
            if failed { throw ExitCode.failure }
        }
    }

    struct LedgerStateMachine: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "Payments applied per second by the state machine alone, on a state of N residents with live lots.",
            discussion: """
            The set-up registers, charges and grants every resident through the ledger itself, \
            in large blocks (--setup-block-residents, three transactions each) signed and verified \
            on the other cores while the previous block executes. Then the store is compacted \
            (unless --no-compact) and the payments are measured in blocks of 2,000: signatures are \
            verified before the clock starts; execution (with the state-tree update) and the synced \
            commit are timed separately.
            """
        )
        @Option(help: "Residents in the state, each with coins and a live point lot.") var accounts = 100_000
        @Option(help: "Payments to apply in the measured phase.") var payments = 20_000
        @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench-ledger"
        @Option(help: "Residents per set-up block (three transactions each).") var setupBlockResidents = 50_000
        @Flag(inversion: .prefixedNo, help: "Fully compact the store between set-up and measurement.") var compact = true
        @Flag(help: "Issue 18's mix: 1,000 live programs; of every ten transactions seven payments, one pay_public, one charge_extended (half premium), one pay_instalment.") var townMix = false
        @Flag(help: "With --town-mix: measure payments only, on the town state (the new rules' overhead on today's mix).") var townPaysOnly = false
        @Flag(inversion: .prefixedNo, help: "With --town-mix: a first-payment and a first-charge bonus program among the live programs.") var townEventBonuses = true
        @Option(help: "Levels of the state tree kept in memory across blocks (a node's stateTreeCacheLevels; 0–22).") var treeCacheLevels = NodeConfiguration.stateTreeCacheLevelsDefault
        @Option(name: .customLong("block-cache-mib"), help: "MiB of RocksDB's block cache (a node's blockCacheMiB; 16–65536).") var blockCacheMiB = NodeConfiguration.blockCacheMiBDefault
        @Option(name: .customLong("state-value-cache-mib"), help: "MiB of state values the store keeps in memory (a node's stateValueCacheMiB; 0–65536, 0 keeps none).") var stateValueCacheMiB = NodeConfiguration.stateValueCacheMiBDefault
        @OptionGroup var output: BenchResultFile

        func run() throws {
            var benchmark = LedgerBenchmark(accounts: accounts, payments: payments, folder: folder, setupBlockResidents: setupBlockResidents, compactBeforeMeasuring: compact, townMix: townMix)
            benchmark.townPaysOnly = townPaysOnly
            benchmark.townEventBonuses = townEventBonuses
            guard NodeConfiguration.stateTreeCacheLevelsAllowed.contains(treeCacheLevels) else { throw ValidationError("--tree-cache-levels must be 0–22") }
            benchmark.treeCacheLevels = treeCacheLevels
            guard NodeConfiguration.blockCacheMiBAllowed.contains(blockCacheMiB) else { throw ValidationError("--block-cache-mib must be 16–65536") }
            benchmark.blockCacheMiB = blockCacheMiB
            guard NodeConfiguration.stateValueCacheMiBAllowed.contains(stateValueCacheMiB) else { throw ValidationError("--state-value-cache-mib must be 0–65536") }
            benchmark.stateValueCacheMiB = stateValueCacheMiB
            let result = try benchmark.run {
                print("bench: \($0)")
                fflush(nil)
            }
            let mebibytes = { (bytes: UInt64) in String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
            print("""

            | measure | value |
            |---|---|
            | residents | \(result.accounts) |
            | live lots (in lot lists) | \(result.liveLots) (\(result.lotLists)) |
            | state entries | \(result.stateEntries) |
            | mix | \(result.mix) (\(result.programs) programs besides the charge bonus) |
            | payments (town mix: transactions) | \(result.payments) |
            | payments/s, execute + state root (one core) | \(Int(result.paymentsPerSecondExecute)) |
            | payments/s, including synced commits | \(Int(result.paymentsPerSecondWithCommit)) |
            | payments per CPU-second of the executing thread | \(Int(result.paymentsPerCPUSecondExecute)) (\(String(format: "%.1f", result.executeCPUSeconds)) s CPU in \(String(format: "%.1f", result.executeSeconds)) s) |
            | state keys changed per transaction (measured blocks) | \(String(format: "%.2f", result.stateKeysChangedPerTransaction)) |
            | set-up time (\(result.setupTransactions) tx in blocks of \(result.setupBlockResidents) residents) | \(Int(result.setupSeconds)) s (execute \(Int(result.setupExecuteSeconds)) s, \(Int(result.setupExecuteCPUSeconds)) s of it CPU; commit \(Int(result.setupCommitSeconds)) s, waiting for signatures \(Int(result.setupSignWaitSeconds)) s) |
            | compaction after set-up | \(Int(result.compactSeconds)) s |
            | store on disk after set-up / after payments | \(mebibytes(result.storeBytesAfterSetup)) / \(mebibytes(result.storeBytesAfterMeasure)) |
            | a clean close: state and tree table files, compacted (limit \(mebibytes(result.stateCompactionAtCloseBytesMax))), seconds, folder after | \(mebibytes(result.stateTableFileBytesBeforeClose)), \(result.closeCompactedState ? "yes" : "no"), \(String(format: "%.2f", result.closeSeconds)) s, \(mebibytes(result.storeBytesAfterClose)) |
            | caches: RocksDB block cache / state-tree levels kept / state values | \(result.blockCacheMiB) MiB / \(result.treeCacheLevels) / \(result.stateValueCacheMiB) MiB |
            | state value cache, measured phase: reads answered / passed to RocksDB | \(result.stateValueCacheHits) / \(result.stateValueCacheMisses) |
            | state value cache at the end: entries / bytes charged | \(result.stateValueCacheEntries) / \(mebibytes(UInt64(result.stateValueCacheBytes))) |
            """)
            fflush(nil)
            try output.write(result)
        }
    }
}

extension BenchCommand {
  struct Node: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Measure a single validator committing transfers into RocksDB.",
        discussion: """
        Measures, in one run: Ed25519 verifications per second (one core and all cores), synced \
        RocksDB write batches per second, then the node's committed transactions and blocks per \
        second for a stream of pre-signed sends (verification, execution, state commitment and \
        the synced commit included), and bytes on disk per transaction after compaction. \
        Build in release for meaningful numbers: swift build -c release.
        """
    )

    @Option(help: "Residents to register and fund.") var residents = 1000
    @Option(help: "Sends to commit in the measured phase.") var transfers = 20_000
    @Option(help: "Transactions per block.") var blockTransactions = 2000
    @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench"
    @OptionGroup var output: BenchResultFile

    func run() async throws {
        let benchmark = SingleNodeBenchmark(residents: residents, transfers: transfers, blockTransactionsMax: blockTransactions, folder: folder)
        let result = try await benchmark.run { print("bench: \($0)") }
        print("""

        | measure | value |
        |---|---|
        | cores | \(result.cores) |
        | Ed25519 verify/s, one core | \(Int(result.ed25519VerifyPerSecondOneCore)) |
        | Ed25519 verify/s, all cores | \(Int(result.ed25519VerifyPerSecondAllCores)) |
        | synced RocksDB batches/s | \(Int(result.syncedBatchesPerSecond)) |
        | committed transactions/s | \(Int(result.transactionsPerSecond)) |
        | committed blocks/s | \(String(format: "%.1f", result.blocksPerSecond)) (\(result.blocks) blocks of ≤\(blockTransactions)) |
        | ratio to the verify bound (all cores ÷ 1 validator) | \(String(format: "%.2f", result.ratioToVerifyBound)) |
        | bytes on disk per transaction (after compaction) | \(Int(result.bytesOnDiskPerTransaction)) |
        """)
        try output.write(result)
    }
}
}
