import Foundation
import KizunaCore
import Testing

/// Throughput of the cryptography as Kizuna calls it. Runs only with KIZUNA_MEASURE=1 and
/// asserts nothing about time; build in release for meaningful numbers:
///
///     KIZUNA_MEASURE=1 swift test -c release -Xswiftc -enable-testing --filter Measure
@Suite("Measurements")
struct MeasureTests {
    static let enabled = ProcessInfo.processInfo.environment["KIZUNA_MEASURE"] == "1"

    static func rate(_ count: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let elapsed = clock.measure(body)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(count) / seconds
    }

    static func format(_ rate: Double) -> String { String(format: "%.0f/s", rate) }

    @Test(.enabled(if: enabled)) func cryptographyThroughput() async {
        let count = 20_000
        let key = Fixtures.key("resident-1")
        let messages = (0..<count).map { index in Hash.sha256(Array("message \(index)".utf8)).bytes + Hash.sha256(Array("more \(index)".utf8)).bytes }
        var signatures: [Signature] = []
        signatures.reserveCapacity(count)
        let sign = MeasureTests.rate(count) {
            for message in messages { signatures.append(key.sign(message)) }
        }
        let publicKey = key.publicKey
        var valid = 0
        let verify = MeasureTests.rate(count) {
            for (message, signature) in zip(messages, signatures) where publicKey.isValidSignature(signature, for: message) { valid += 1 }
        }
        #expect(valid == count)
        var digest = Hash.zero
        let hashes = MeasureTests.rate(count * 10) {
            for _ in 0..<10 { for message in messages { digest = Hash.sha256(message) } }
        }
        #expect(digest != .zero)
        // Verification on two tasks in parallel.
        let half = count / 2
        let pairs = Array(zip(messages, signatures))
        let clock = ContinuousClock()
        let start = clock.now
        await withTaskGroup(of: Int.self) { group in
            for part in 0..<2 {
                let slice = Array(pairs[part * half..<(part + 1) * half])
                group.addTask {
                    slice.reduce(0) { $0 + (publicKey.isValidSignature($1.1, for: $1.0) ? 1 : 0) }
                }
            }
            for await _ in group {}
        }
        let elapsed = clock.now - start
        let parallel = Double(half * 2) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        // A whole transaction: decode + verify, as the mempool does.
        let transaction = VectorGenerator.signedTransaction("send").canonicalBytes
        let admit = MeasureTests.rate(5_000) {
            for _ in 0..<5_000 { _ = try? SignedTransaction(untrusted: transaction).verified(chainId: Fixtures.chainId) }
        }
        let keyBytes = key.publicKey.bytes
        var keys = 0
        let keyChecks = MeasureTests.rate(5_000) {
            for _ in 0..<5_000 where PublicKey(keyBytes) != nil { keys += 1 }
        }
        #expect(keys == 5_000)
        print("KIZUNA_MEASURE public key validation (PublicKey.init?): \(MeasureTests.format(keyChecks))")
        print("KIZUNA_MEASURE ed25519 sign (64-byte messages): \(MeasureTests.format(sign))")
        print("KIZUNA_MEASURE ed25519 verify, 1 task: \(MeasureTests.format(verify))")
        print("KIZUNA_MEASURE ed25519 verify, 2 tasks: \(MeasureTests.format(parallel))")
        print("KIZUNA_MEASURE sha256 of 64 bytes: \(MeasureTests.format(hashes))")
        print("KIZUNA_MEASURE decode + verify a send transaction: \(MeasureTests.format(admit))")
    }
}
