import ArgumentParser
import KizunaConsensus

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the deterministic consensus simulator over many seeds (docs/consensus.md).",
        discussion: """
        Each seed runs a whole cluster in one process with seeded faults (loss, delay, \
        duplication, reordering, partitions, crash and restart, clock skew, byzantine \
        validators) and checks agreement, validity, no double-signing and liveness. A failure \
        prints its seed; --seed replays one exactly. Exits 1 if any seed fails.
        """
    )

    @Option(help: "First seed of the campaign.") var start: UInt64 = 1
    @Option(help: "Number of seeds.") var count: UInt64 = 1000
    @Option(help: "Replay this one seed and print its result.") var seed: UInt64?

    func run() throws {
        if let seed {
            let result = Simulator.run(seed: seed)
            print(result)
            if !result.passed { throw ExitCode(1) }
            return
        }
        let campaign = Simulator.runCampaign(seeds: start..<(start + count)) { progress in
            if progress.seedsRun % 100 == 0 || progress.failures > 0 && !progress.last.passed { print(progress) }
        }
        print(campaign)
        for failure in campaign.failures { print(failure) }
        if !campaign.failures.isEmpty { throw ExitCode(1) }
    }
}
