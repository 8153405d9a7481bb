/// Runs seeds of the simulator: the entry point for tests and for the CLI's long campaigns.
///
/// ```swift
/// let result = Simulator.runCampaign(seeds: 0..<10_000) { print($0) }
/// if !result.failures.isEmpty { print(result.failures.map(\.description)) }
/// ```
public enum Simulator {
    /// One seed, with the scenario `SimulationScenario.generate(seed:)` derives from it.
    public static func run(seed: UInt64, faultInjection: ConsensusFaultInjection = .none) -> SimulationResult {
        var scenario = SimulationScenario.generate(seed: seed)
        scenario.faultInjection = faultInjection
        return run(scenario)
    }

    public static func run(_ scenario: SimulationScenario) -> SimulationResult {
        var simulation = Simulation(scenario: scenario)
        return simulation.run()
    }

    /// Runs every seed, calling `progress` after each one; failures keep their seed so
    /// `Simulator.run(seed:)` reproduces them.
    public static func runCampaign(
        seeds: some Sequence<UInt64>,
        faultInjection: ConsensusFaultInjection = .none,
        progress: (CampaignProgress) -> Void = { _ in }
    ) -> CampaignResult {
        var result = CampaignResult()
        for seed in seeds {
            let outcome = run(seed: seed, faultInjection: faultInjection)
            result.add(outcome)
            progress(CampaignProgress(seedsRun: result.seedsRun, failures: result.failures.count, last: outcome))
        }
        return result
    }
}

/// A progress line for a campaign.
public struct CampaignProgress: Sendable, CustomStringConvertible {
    public var seedsRun: Int
    public var failures: Int
    public var last: SimulationResult

    public var description: String {
        "seeds \(seedsRun), failures \(failures), last seed \(last.scenario.seed) (\(last.scenario.kind.rawValue)): \(last.passed ? "ok" : "FAILED")"
    }
}

/// Totals of a campaign, overall and per fault kind.
public struct CampaignResult: Sendable, CustomStringConvertible {
    public struct Totals: Sendable {
        public var seeds = 0
        public var decidedHeights: UInt64 = 0
        public var roundsTotal: UInt64 = 0
        public var simulatedMilliseconds: UInt64 = 0
        public var evidence = 0

        public var roundsPerHeight: Double { decidedHeights == 0 ? 0 : Double(roundsTotal) / Double(decidedHeights) }
        public var blocksPerSimulatedSecond: Double {
            simulatedMilliseconds == 0 ? 0 : Double(decidedHeights) * 1000 / Double(simulatedMilliseconds)
        }
    }

    public var seedsRun = 0
    public var failures: [SimulationResult] = []
    public var total = Totals()
    /// Keyed by `FaultKind.rawValue`.
    public var byKind: [String: Totals] = [:]

    public init() {}

    mutating func add(_ outcome: SimulationResult) {
        seedsRun += 1
        if !outcome.passed { failures.append(outcome) }
        for keyPath in [\CampaignResult.total] {
            self[keyPath: keyPath].add(outcome)
        }
        byKind[outcome.scenario.kind.rawValue, default: Totals()].add(outcome)
    }

    public var description: String {
        var lines = ["\(seedsRun) seeds, \(failures.count) failed; \(total.decidedHeights) heights, \(String(format2: total.roundsPerHeight)) rounds/height, \(String(format2: total.blocksPerSimulatedSecond)) blocks per simulated second"]
        for kind in FaultKind.allCases {
            guard let totals = byKind[kind.rawValue] else { continue }
            lines.append("  \(kind.rawValue): \(totals.seeds) seeds, \(totals.decidedHeights) heights, \(String(format2: totals.roundsPerHeight)) rounds/height, \(String(format2: totals.blocksPerSimulatedSecond)) blocks/simulated s, evidence \(totals.evidence)")
        }
        for failure in failures { lines.append("  FAILED \(failure)") }
        return lines.joined(separator: "\n")
    }
}

extension CampaignResult.Totals {
    mutating func add(_ outcome: SimulationResult) {
        seeds += 1
        decidedHeights += outcome.decidedHeights
        roundsTotal += outcome.roundsTotal
        simulatedMilliseconds += outcome.simulatedMilliseconds
        evidence += outcome.evidenceCount
    }
}

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let fraction = abs(scaled % 100)
        self = "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
