import KizunaConsensus
import Testing

@Suite struct SimulatorTests {
    @Test func smoke() {
        var found = 0
        for seed in UInt64(0)..<40 {
            var scenario = SimulationScenario.generate(seed: seed, kind: .byzantineEquivocate, powers: [1, 1, 1, 5, 5])
            scenario.byzantine = [0: .equivocate, 1: .equivocate, 2: .equivocate]
            scenario.faultInjection = ConsensusFaultInjection(countVotesByNumber: true)
            let result = Simulator.run(scenario)
            if result.violations.contains(where: { $0.kind == .agreement || $0.kind == .doubleSign }) { found += 1 }; if !result.passed { print(seed, result.violations.prefix(3)) }
        }
        print("countVotesByNumber found", found)
        found = 0
        for seed in UInt64(0)..<100 {
            var scenario = SimulationScenario.generate(seed: seed, kind: .mixed, powers: [1, 1, 1, 1])
            scenario.faultInjection = ConsensusFaultInjection(ignoreLock: true)
            let result = Simulator.run(scenario)
            if result.violations.contains(where: { $0.kind == .agreement || $0.kind == .doubleSign }) { found += 1 }; if !result.passed { print(seed, result.violations.prefix(3)) }
        }
        print("ignoreLock found", found)
        found = 0
        for seed in UInt64(0)..<100 {
            var scenario = SimulationScenario.generate(seed: seed, kind: .crashRestart, powers: [1, 1, 1, 1])
            scenario.signerSyncs = false
            let result = Simulator.run(scenario)
            if result.violations.contains(where: { $0.kind == .agreement || $0.kind == .doubleSign }) { found += 1 }; if !result.passed { print(seed, result.violations.prefix(3)) }
        }
        print("unsynced found", found)
    }
}
