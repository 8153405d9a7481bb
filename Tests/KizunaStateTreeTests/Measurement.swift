import Foundation
import KizunaCore
import KizunaStorage
import KizunaStateTree
import Testing

/// Throughput measurement, run only with `KIZUNA_MEASURE=1`. It prints numbers and asserts
/// nothing about time: correctness is checked elsewhere.
@Suite struct Measurement {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KIZUNA_MEASURE"] == "1"))
    func updateThroughput() throws {
        for size in [10_000, 100_000] {
            var random = SplitMix64(seed: UInt64(size))
            let store = CountingStore()
            let tree = StateTree(store: store)
            let entries = randomEntries(size, &random)
            let clock = ContinuousClock()
            let buildStart = clock.now
            try apply(tree, inserts(entries))
            let buildTime = clock.now - buildStart
            let keys = entries.keys.sorted()
            let rounds = 10
            var touched = 0
            var writes = 0
            let readsBefore = store.readCount
            var updateTime = Duration.zero
            for _ in 0..<rounds {
                var updates: [(key: Hash, valueHash: Hash?)] = []
                var seen = Set<Hash>()
                while updates.count < 1000 {
                    // 800 changed values, 100 inserts, 100 deletes.
                    let kind = updates.count % 10
                    let key = kind == 0 ? random.hash() : keys[random.below(keys.count)]
                    guard seen.insert(key).inserted else { continue }
                    updates.append((key, kind == 1 ? nil : random.hash()))
                }
                let start = clock.now
                let (_, batch) = try tree.update(updates)
                updateTime += clock.now - start
                try store.write(batch, sync: false)
                touched += updates.count
                writes += batch.count
            }
            let reads = store.readCount - readsBefore
            let seconds = Double(updateTime.components.seconds) + Double(updateTime.components.attoseconds) / 1e18
            let buildSeconds = Double(buildTime.components.seconds) + Double(buildTime.components.attoseconds) / 1e18
            print(
                "state tree \(size) keys: build \(String(format: "%.2f", buildSeconds)) s; "
                    + "update \(Int(Double(touched) / seconds)) keys/s "
                    + "(\(String(format: "%.1f", seconds / Double(rounds) * 1000)) ms per 1000-key batch), "
                    + "\(reads / touched) reads and \(writes / touched) batch ops per touched key"
            )
        }
    }
}
