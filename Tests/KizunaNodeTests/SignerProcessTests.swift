import Foundation
import Testing
import KizunaCore
import KizunaWallet

/// Issue 5, must-be-true 4: a validator killed with SIGKILL at a random instant while it signs,
/// then restarted, never produces a conflicting signature — with a real process and the real
/// consensus journal (RocksDB, the record written in the same synced batch as the message).
@Suite("Signer crash safety with real processes", .serialized)
struct SignerProcessTests {
    struct Run {
        var status: Int32
        var lines: [String]
    }

    static func signVotes(key: String, data: String, start: UInt64, count: UInt64, seed: String, killAfterMilliseconds: UInt64? = nil) throws -> Run {
        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = ["signer", "sign-votes", "--key", key, "--data", data, "--chain-id", "local-signer-test", "--start-height", "\(start)", "--count", "\(count)", "--block-seed", seed]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-signer-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        if let killAfterMilliseconds {
            usleep(UInt32(killAfterMilliseconds * 1000))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return Run(status: process.terminationStatus, lines: text.split(separator: "\n").map(String.init))
    }

    @Test func aKilledSignerNeverSignsAConflictingVoteAfterRestart() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-signer-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = folder.appendingPathComponent("validator.key.json").path
        try KeyFile(key: PrivateKey()).write(path: key)
        let data = folder.appendingPathComponent("data").path

        // A missing record refuses to sign until an operator creates it.
        let missing = try Self.signVotes(key: key, data: data, start: 1, count: 1, seed: "a")
        #expect(missing.status == 3, "signing without a record must be refused: \(missing.lines)")
        let initialize = Process()
        initialize.executableURL = NodeProcess.executable()
        initialize.arguments = ["signer", "init", "--data", data]
        try initialize.run()
        initialize.waitUntilExit()
        #expect(initialize.terminationStatus == 0)

        var random = SplitMix64(seed: 424_242)
        var start: UInt64 = 1
        var cycles = 0
        for cycle in 0..<6 {
            // Sign an endless stream of votes; kill it at a random instant. On a slow machine
            // the process may not have signed anything yet: wait longer, a bounded number of times.
            var killAfter = 150 + random.next() % 600
            var signed: [[String]] = []
            for _ in 0..<8 {
                let run = try Self.signVotes(key: key, data: data, start: start, count: 10_000_000, seed: "honest", killAfterMilliseconds: killAfter)
                signed = run.lines.filter { $0.hasPrefix("signed ") }.map { $0.split(separator: " ").map(String.init) }
                if !signed.isEmpty { break }
                killAfter *= 2
            }
            guard let last = signed.last, let lastHeight = UInt64(last[1]) else { continue }
            cycles += 1
            // Every printed height again with a conflicting block: refused, whatever was
            // persisted after the last print.
            let probe = lastHeight - random.next() % min(lastHeight - start + 1, 50)
            let conflicting = try Self.signVotes(key: key, data: data, start: probe, count: 1, seed: "conflicting-\(cycle)")
            #expect(conflicting.status == 3, "cycle \(cycle): a conflicting vote at height \(probe) was signed after a crash: \(conflicting.lines)")
            #expect(conflicting.lines.allSatisfy { !$0.hasPrefix("signed ") })
            // The last printed vote again, identical: allowed only if it is still the record's
            // latest (re-signing the identical message); never a different signature.
            let again = try Self.signVotes(key: key, data: data, start: lastHeight, count: 1, seed: "honest")
            if again.status == 0 {
                #expect(again.lines.first == last.joined(separator: " "), "cycle \(cycle): re-signing gave a different signature")
            } else {
                #expect(again.status == 3)
            }
            start = lastHeight + 2
        }
        #expect(cycles > 0, "no cycle signed anything before it was killed: the test checked nothing")
    }
}
