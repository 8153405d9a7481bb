import Foundation
import Testing
import KizunaCore
import KizunaNode
import KizunaWallet

/// Issue 20, must-be-true 3 (second half), on real processes: a fifth node (the observer)
/// joins the running four-validator network from a state snapshot a validator wrote at height
/// h while transactions were being committed, block-syncs from h + 1 and reaches the same tip
/// hash and state root as the validators, which ran from genesis; a tampered snapshot makes
/// the node refuse to start and leaves its data folder without a chain. Every wait is a
/// bounded poll; nothing is timed.
@Suite("State snapshots as real processes", .serialized)
struct SnapshotProcessTests {
    static func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try NetworkProcessTests.runCLI(arguments)
    }

    /// The word after `word` in `text` ("height 12 block …").
    static func value(after word: String, in text: String) -> String? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        return words.firstIndex(of: word).flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
    }

    @Test func anObserverJoinsFromASnapshotAndAgreesWithTheValidators() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "snapshot")
        defer { network.removeAll() }
        network.extraConfiguration = BackupProcessTests.accessSection()
        try network.writeConfigurations()
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        let residents = (0..<4).map { _ in PrivateKey() }
        try await NetworkProcessTests.fund(network, residents: residents, via: "city")
        let stop = StopFlag()
        let log = AcknowledgementLog()
        let load = NetworkProcessTests.ring(network, residents: residents, log: log, stop: stop)
        #expect(await network.eventually { await log.entries.count >= 6 }, "no load committed")

        // The snapshot, written by a running validator while the load goes on.
        let file = network.folder.appendingPathComponent("city.snapshot").path
        let cityURL = "http://127.0.0.1:\(network.apiPorts["city"]!)"
        let auditorTry = try Self.cli(["snapshot", "create", "--node", cityURL, "--token", BackupProcessTests.auditorToken, "--to", file + "-auditor"])
        #expect(auditorTry.status != 0 && auditorTry.output.contains("auth.forbidden"), "an auditor's token may not write a snapshot: \(auditorTry.output)")
        let taken = try Self.cli(["snapshot", "create", "--node", cityURL, "--token", BackupProcessTests.memberToken, "--to", file])
        #expect(taken.status == 0, "snapshot failed: \(taken.output)")
        let height = Self.value(after: "height", in: taken.output).flatMap { UInt64($0) } ?? 0
        let block = Self.value(after: "block", in: taken.output) ?? ""
        #expect(height > 0, "\(taken.output)")
        let genesisFile = network.folder.appendingPathComponent("genesis.json").path
        let verified = try Self.cli(["snapshot", "verify", "--genesis", genesisFile, file])
        #expect(verified.status == 0 && verified.output.contains("verified snapshot of height \(height) block \(block)"), "\(verified.output)")
        #expect(await network.header("chamber", at: height)?.hash == block, "the snapshot's block is not the chain's block \(height)")

        // Tampered: the last record's last byte changed and the checksum made to match.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        var tampered = Array(bytes.dropLast(32))
        tampered[tampered.count - 1] ^= 0x01
        tampered += Hash.sha256(tampered).bytes
        let tamperedFile = network.folder.appendingPathComponent("tampered.snapshot").path
        try Data(tampered).write(to: URL(fileURLWithPath: tamperedFile))
        let tamperedTry = try Self.cli(["snapshot", "verify", "--genesis", genesisFile, tamperedFile])
        #expect(tamperedTry.status != 0 && tamperedTry.output.contains("snapshot.state_root_mismatch"), "\(tamperedTry.output)")
        // Damaged in transfer: a byte flipped, checksum left as it was.
        var damaged = bytes
        damaged[bytes.count / 3] ^= 0x40
        let damagedFile = network.folder.appendingPathComponent("damaged.snapshot").path
        try Data(damaged).write(to: URL(fileURLWithPath: damagedFile))
        let damagedTry = try Self.cli(["snapshot", "verify", "--genesis", genesisFile, damagedFile])
        #expect(damagedTry.status != 0 && damagedTry.output.contains("snapshot.damaged"), "\(damagedTry.output)")

        // The observer refuses to start from the tampered snapshot, and writes no chain: the same
        // data folder starts from the good one next.
        let observer = LocalNetworkProcesses.observerName
        #expect(!(try await network.start(observer, arguments: ["--from-snapshot", tamperedFile])), "a node must not start from a tampered snapshot")
        #expect(network.log(observer).contains("snapshot.state_root_mismatch"), "\(network.log(observer))")

        // From the good one it starts at h, syncs from h + 1 and follows the network.
        #expect(try await network.start(observer, arguments: ["--from-snapshot", file]), "the observer did not start from the snapshot: \(network.log(observer))")
        #expect(network.log(observer).contains("started the data folder from a state snapshot"), "\(network.log(observer))")
        let cityHeight = await network.status("city")?.height ?? 0
        #expect(await network.eventually { (await network.status(observer)?.height ?? 0) > cityHeight + 2 }, "the observer did not sync past the snapshot: \(network.log(observer))")
        await stop.set()
        await load.value

        // All five agree on one tip hash and state root.
        let names = LocalNetworkProcesses.validatorNames + [observer]
        var target: UInt64 = 0
        for name in LocalNetworkProcesses.validatorNames { target = max(target, await network.status(name)?.height ?? 0) }
        var agreed = false
        var seen: [String] = []
        for _ in 0..<600 where !agreed {
            seen = []
            for name in names {
                if let header = await network.header(name, at: target) { seen.append(header.hash + " " + header.stateRoot) }
            }
            agreed = seen.count == names.count && Set(seen).count == 1
            if !agreed { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(agreed, "the observer and the validators do not agree at height \(target): \(seen)")
        #expect(await network.header(observer, at: height)?.hash == block)

        // Blocks below the snapshot are not held there: a clear 410, not a 404 or a 500.
        let below = try await network.client(observer).authenticated(.bearer(LocalNetworkProcesses.auditorToken)).block(at: max(1, height - 1))
        #expect(below.statusCode == 410 && below.json?["code"] as? String == "chain.before_snapshot", "\(below.statusCode) \(below.json ?? [:])")
        let archived = try await network.client("city").authenticated(.bearer(LocalNetworkProcesses.auditorToken)).block(at: max(1, height - 1))
        #expect(archived.statusCode == 200, "an archive node serves every block")

        // Restarted with the same command line, the observer keeps its chain (the snapshot is not read again).
        network.stop(observer)
        #expect(try await network.start(observer, arguments: ["--from-snapshot", file]), "\(network.log(observer))")
        #expect(network.log(observer).contains("the snapshot is not used"), "\(network.log(observer))")
        #expect(await network.eventually { (await network.status(observer)?.height ?? 0) >= target }, "\(network.log(observer))")
        print("snapshot: \(taken.output)refused: \([tamperedTry, damagedTry].map { $0.output.prefix(100) })\nfive nodes agreed at height \(target) (snapshot at \(height))")
    }
}
