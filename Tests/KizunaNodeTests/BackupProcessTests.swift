import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import KizunaCore
import KizunaNode
import KizunaRocksDB
import KizunaStorage
import KizunaWallet

/// Issue 20, must-be-true 3 (first half), on real processes: a backup of a running validator
/// taken while transactions are being committed restores into a new data folder, the validator
/// restarts from it, catches up and agrees with the others; a changed or incomplete backup is
/// refused by `kizuna restore`. Every wait is a bounded poll; nothing is timed.
@Suite("Backup and restore as real processes", .serialized)
struct BackupProcessTests {
    static let memberToken = "backup-test-member-token"
    static let auditorToken = "backup-test-auditor-token"

    static func accessSection() -> String {
        """

        [[access.credentials]]
        name = "operations"
        role = "member"
        tokenSha256 = "\(Hash.sha256(Array(memberToken.utf8)).hex)"

        [[access.credentials]]
        name = "audit"
        role = "auditor"
        tokenSha256 = "\(Hash.sha256(Array(auditorToken.utf8)).hex)"

        """
    }

    static func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try NetworkProcessTests.runCLI(arguments)
    }

    @Test func aBackupUnderLoadRestoresToAValidatorThatJoinsAndAgrees() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "backup")
        defer { network.removeAll() }
        network.extraConfiguration = Self.accessSection()
        try network.writeConfigurations()
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        let residents = (0..<4).map { _ in PrivateKey() }
        try await NetworkProcessTests.fund(network, residents: residents, via: "city")

        // Load: four residents paying each other through whichever node is up.
        let stop = StopFlag()
        let log = AcknowledgementLog()
        let load = NetworkProcessTests.ring(network, residents: residents, log: log, stop: stop)
        #expect(await network.eventually { await log.entries.count >= 6 }, "no load committed")

        // The backup, taken by the running node while the load goes on.
        let backup = network.folder.appendingPathComponent("backup-bank").path
        let bankURL = "http://127.0.0.1:\(network.apiPorts["bank"]!)"
        let auditorTry = try Self.cli(["backup", "--node", bankURL, "--token", Self.auditorToken, "--to", backup + "-auditor"])
        #expect(auditorTry.status != 0 && auditorTry.output.contains("auth.forbidden"), "an auditor's token may not take a backup: \(auditorTry.output)")
        let taken = try Self.cli(["backup", "--node", bankURL, "--token", Self.memberToken, "--to", backup])
        #expect(taken.status == 0, "backup failed: \(taken.output)")
        let words = taken.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let backedUpHeight = words.firstIndex(of: "height").flatMap { UInt64(words[$0 + 1]) } ?? 0
        let backedUpTip = words.firstIndex(of: "tip").map { words[$0 + 1] } ?? ""
        #expect(backedUpHeight > 0, "\(taken.output)")
        let again = try Self.cli(["backup", "--node", bankURL, "--token", Self.memberToken, "--to", backup])
        #expect(again.status != 0 && again.output.contains("backup.bad_target"), "a backup never overwrites a folder: \(again.output)")

        // The load goes on past the backup; then the bank's node stops.
        let committedAtBackup = await log.entries.count
        #expect(await network.eventually { await log.entries.count >= committedAtBackup + 6 }, "the load stopped after the backup")
        network.stop("bank")
        let genesisFile = network.folder.appendingPathComponent("genesis.json").path
        let bankData = network.dataDirectory("bank")
        let oldData = bankData + "-old"
        try FileManager.default.moveItem(atPath: bankData, toPath: oldData)

        // Refusals: into a non-empty folder, a changed file, a missing file, a changed value.
        let intoOld = try Self.cli(["restore", "--from", backup, "--data", oldData, "--genesis", genesisFile])
        #expect(intoOld.status != 0 && intoOld.output.contains("restore.target_not_empty"), "\(intoOld.output)")
        let files = try NodeBackup.listFiles(in: backup + "/chain")
        let table = try #require(files.first(where: { $0.path.hasSuffix(".sst") }), "no table file in \(files.map(\.path))")
        let flipped = try Self.copy(backup, network, "flipped")
        let tablePath = flipped + "/chain/" + table.path
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tablePath)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: tablePath))
        let flippedTry = try Self.cli(["restore", "--from", flipped, "--data", network.folder.appendingPathComponent("r-flipped").path, "--genesis", genesisFile])
        #expect(flippedTry.status != 0 && flippedTry.output.contains("backup.tampered"), "\(flippedTry.output)")
        let missing = try Self.copy(backup, network, "missing")
        try FileManager.default.removeItem(atPath: missing + "/chain/" + table.path)
        let missingTry = try Self.cli(["restore", "--from", missing, "--data", network.folder.appendingPathComponent("r-missing").path, "--genesis", genesisFile])
        #expect(missingTry.status != 0 && missingTry.output.contains("backup.incomplete"), "\(missingTry.output)")
        // A state value changed and the manifest rewritten to match: the chain check refuses it.
        let rewritten = try Self.copy(backup, network, "rewritten")
        do {
            let store = try RocksDBStore(path: rewritten + "/chain")
            var first: (key: [UInt8], value: [UInt8])?
            try store.scan(.state, from: [], prefix: []) { key, value in first = (key, value); return false }
            let entry = try #require(first)
            var batch = WriteBatch()
            batch.put(entry.value + [0], for: entry.key, in: .state)
            try store.write(batch, sync: true)
            store.close()
        }
        var manifest = try JSONDecoder().decode(NodeBackup.Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: rewritten + "/backup.json")))
        manifest.files = try NodeBackup.listFiles(in: rewritten + "/chain")
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: rewritten + "/backup.json"))
        let rewrittenTarget = network.folder.appendingPathComponent("r-rewritten").path
        let rewrittenTry = try Self.cli(["restore", "--from", rewritten, "--data", rewrittenTarget, "--genesis", genesisFile])
        #expect(rewrittenTry.status != 0 && rewrittenTry.output.contains("restore.verify_failed"), "\(rewrittenTry.output)")
        #expect(!FileManager.default.fileExists(atPath: rewrittenTarget + "/chain"), "a refused restore leaves no store behind")

        // Restored without the validator's journal: the validator refuses to start.
        let bare = try Self.cli(["restore", "--from", backup, "--data", bankData, "--genesis", genesisFile])
        #expect(bare.status == 0, "\(bare.output)")
        #expect(bare.output.contains("restored and verified height \(backedUpHeight) tip \(backedUpTip)"), "\(bare.output)")
        #expect(!(try await network.start("bank")), "a restored validator without its signer record must not start")
        #expect(network.log("bank").contains("node.signer_missing"), "\(network.log("bank"))")
        try FileManager.default.removeItem(atPath: bankData)

        // Restored with its current journal: it starts, catches up and agrees.
        let kept = try Self.cli(["restore", "--from", backup, "--data", bankData, "--genesis", genesisFile, "--keep-journal-from", oldData])
        #expect(kept.status == 0 && kept.output.contains("kept the consensus journal"), "\(kept.output)")
        #expect(try await network.start("bank"), "the restored validator did not start: \(network.log("bank"))")
        let cityHeight = await network.status("city")?.height ?? 0
        #expect(await network.eventually { (await network.status("bank")?.height ?? 0) > cityHeight + 2 }, "the restored validator did not catch up: \(network.log("bank"))")
        await stop.set()
        await load.value

        // All four agree on one tip, and the restored one has the backed-up block too.
        var target: UInt64 = 0
        for name in LocalNetworkProcesses.validatorNames { target = max(target, await network.status(name)?.height ?? 0) }
        var agreed = false
        for _ in 0..<300 where !agreed {
            var seen: [String] = []
            for name in LocalNetworkProcesses.validatorNames {
                if let header = await network.header(name, at: target) { seen.append(header.hash + header.stateRoot) }
            }
            agreed = seen.count == 4 && Set(seen).count == 1
            if !agreed { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(agreed, "the four validators do not agree at height \(target)")
        print("backup: \(taken.output)restore: \(kept.output)refused: \([intoOld, flippedTry, missingTry, rewrittenTry].map { $0.output.prefix(120) })\nagreed at height \(target); committed under load \(committedAtBackup) before the backup, \(await log.entries.count) in all")
        #expect(await network.header("bank", at: backedUpHeight)?.hash == backedUpTip)
        #expect(await network.header("city", at: backedUpHeight)?.hash == backedUpTip)
    }

    static func copy(_ backup: String, _ network: LocalNetworkProcesses, _ name: String) throws -> String {
        let target = network.folder.appendingPathComponent("backup-\(name)").path
        try FileManager.default.copyItem(atPath: backup, toPath: target)
        return target
    }
}

/// The backup route's access and refusals, in process (the fixture's store is in memory, so a
/// member's well-formed request gets `backup.unsupported_store`: the checkpoint itself is
/// exercised by the process test above).
@Suite("Backup route access")
struct BackupRouteTests {
    typealias F = APIFixture

    @Test func onlyAMemberMayAskAndBadTargetsAreRefused() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            let body = ByteBuffer(string: #"{"to": "/tmp/kizuna-backup-route-test-never-written"}"#)
            let json: HTTPFields = [.contentType: "application/json"]
            try await client.execute(uri: "/v1/admin/backup", method: .post, headers: json, body: body) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.required")
            }
            try await client.execute(uri: "/v1/admin/backup", method: .post, headers: F.bearer(F.auditorToken), body: body) { response in
                #expect(response.status == .forbidden)
                #expect(response.code == "auth.forbidden")
            }
            try await client.execute(uri: "/v1/admin/backup", method: .post, headers: F.bearer(F.memberToken), body: ByteBuffer(string: "{}")) { response in
                #expect(response.code == "api.bad_body")
            }
            try await client.execute(uri: "/v1/admin/backup", method: .post, headers: F.bearer(F.memberToken), body: ByteBuffer(string: #"{"to": "relative/folder"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(response.code == "backup.bad_target")
            }
            try await client.execute(uri: "/v1/admin/backup", method: .post, headers: F.bearer(F.memberToken), body: ByteBuffer(string: #"{"to": "/tmp"}"#)) { response in
                #expect(response.code == "backup.bad_target")
            }
            try await client.execute(uri: "/v1/admin/backup", method: .post, headers: F.bearer(F.memberToken), body: body) { response in
                #expect(response.status == .notImplemented)
                #expect(response.code == "backup.unsupported_store")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kizuna-backup-route-test-never-written"))
    }

    /// The snapshot route (docs/snapshots.md §4) has the same access rule and target checks.
    @Test func onlyAMemberMayAskForASnapshot() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            let body = ByteBuffer(string: #"{"to": "/tmp/kizuna-snapshot-route-test-never-written"}"#)
            try await client.execute(uri: "/v1/admin/snapshot", method: .post, headers: [.contentType: "application/json"], body: body) { response in
                #expect(response.status == .unauthorized && response.code == "auth.required")
            }
            try await client.execute(uri: "/v1/admin/snapshot", method: .post, headers: F.bearer(F.auditorToken), body: body) { response in
                #expect(response.status == .forbidden && response.code == "auth.forbidden")
            }
            try await client.execute(uri: "/v1/admin/snapshot", method: .post, headers: F.bearer(F.memberToken), body: ByteBuffer(string: #"{"to": "relative.snap"}"#)) { response in
                #expect(response.status == .badRequest && response.code == "snapshot.bad_target")
            }
            try await client.execute(uri: "/v1/admin/snapshot", method: .post, headers: F.bearer(F.memberToken), body: body) { response in
                #expect(response.status == .notImplemented && response.code == "snapshot.unsupported_store")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kizuna-snapshot-route-test-never-written"))
    }
}
