import KizunaConsensus
import Testing

@Suite struct SimulatorTests {
    @Test func smoke() {
        for seed in UInt64(0)..<22 {
            let result = Simulator.run(seed: seed)
            print(result)
        }
    }
}
