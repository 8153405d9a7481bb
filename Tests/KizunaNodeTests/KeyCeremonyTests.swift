import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KizunaCore
import KizunaKeyStore
import KizunaNode
import Testing

/// The key ceremony of docs/operations.md, end to end with the built `kizuna` binary: four
/// organisations make their keys (one sealed with a passphrase), one assembles the genesis,
/// each signs its own copy, the copies are combined, and a real node process refuses a genesis
/// that lacks one approval or whose bytes changed, and runs the complete one.
@Suite(.serialized) struct KeyCeremonyTests {
    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs `kizuna …` to completion (every command here finishes by itself).
    static func kizuna(_ arguments: [String]) throws -> Run {
        let run = try NetworkProcessTests.runCLI(arguments)
        return Run(status: run.status, output: run.output)
    }

    static let organisations: [(folder: String, name: String, validator: String, authority: String)] = [
        ("city", "Example City", "city", "city"),
        ("chamber", "Chamber of Commerce", "chamber", "registrar"),
        ("operator", "Kizuna Operator", "operator", "coin-issuer"),
        ("bank", "Community Bank", "bank", "auditor"),
    ]

    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func fourOrganisationsMakeKeysSignTheGenesisAndANodeRefusesAnIncompleteOrChangedOne() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-ceremony-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let passphrase = folder + "/city-passphrase.txt"
        try Data("correct horse battery staple\n".utf8).write(to: URL(fileURLWithPath: passphrase))

        // 1. Each organisation makes its keys on its own machine; the city seals its keys.
        for organisation in Self.organisations {
            var arguments = ["keys", "--organisation", organisation.name, "--validator", organisation.validator,
                             "--authority", organisation.authority, "--out", "\(folder)/\(organisation.folder)"]
            if organisation.folder == "city" { arguments += ["--passphrase-file", passphrase] }
            let run = try Self.kizuna(arguments)
            #expect(run.status == 0, "\(run.output)")
            let keyPath = "\(folder)/\(organisation.folder)/validator-\(organisation.validator).key.json"
            #expect(try Self.mode(keyPath) == 0o600)
            #expect(try Self.mode("\(folder)/\(organisation.folder)/\(organisation.authority).key.json") == 0o600)
            #expect(try Self.mode("\(folder)/\(organisation.folder)") == 0o700)
            #expect(KeyStore.isSealed(path: keyPath) == (organisation.folder == "city"))
        }
        let cityKey = "\(folder)/city/validator-city.key.json"
        let cityText = try String(contentsOfFile: cityKey, encoding: .utf8)
        #expect(!cityText.contains("\"seed\""), "a sealed key file holds no seed in clear")
        #expect(throws: SealedKeyFile.KeyStoreError(.passphraseRequired, "")) { try KeyStore.load(path: cityKey, passphrase: nil) }
        #expect(throws: SealedKeyFile.KeyStoreError(.wrongPassphrase, "")) { try KeyStore.load(path: cityKey, passphrase: "not the passphrase at all") }

        // 2. One of them assembles the genesis from the four public files.
        let genesisPath = folder + "/genesis.json"
        let assemble = try Self.kizuna(["genesis", "assemble", "--chain-id", "kizuna-ceremony-test", "--genesis-time", "2026-04-01T00:00:00+09:00"]
            + Self.organisations.flatMap { ["--organisation", "\(folder)/\($0.folder)/organisation.json"] } + ["--out", genesisPath])
        #expect(assemble.status == 0, "\(assemble.output)")
        let unsigned = try GenesisFile.read(path: genesisPath)
        #expect(Set(unsigned.genesis.foundingOrganisations) == Set(Self.organisations.map(\.name)))
        #expect(unsigned.approvals.isEmpty)
        let unsignedValidate = try Self.kizuna(["genesis", "validate", genesisPath])
        #expect(unsignedValidate.status == 1 && unsignedValidate.output.contains("genesis.missing_approval"), "\(unsignedValidate.output)")

        // 3. Each signs its own copy with its validator key.
        for organisation in Self.organisations {
            let copy = "\(folder)/\(organisation.folder)/genesis.json"
            try FileManager.default.copyItem(atPath: genesisPath, toPath: copy)
            var arguments = ["genesis", "sign", copy, "--key", "\(folder)/\(organisation.folder)/validator-\(organisation.validator).key.json"]
            if organisation.folder == "city" { arguments += ["--passphrase-file", passphrase] }
            let run = try Self.kizuna(arguments)
            #expect(run.status == 0, "\(run.output)")
        }
        // An authority key is not a validator key: it cannot approve.
        let byAuthority = try Self.kizuna(["genesis", "sign", "\(folder)/bank/genesis.json", "--key", "\(folder)/bank/auditor.key.json", "--out", folder + "/x.json"])
        #expect(byAuthority.status != 0 && byAuthority.output.contains("genesis.bad_approval"), "\(byAuthority.output)")

        // 4. Three approvals are not enough; four are.
        let three = folder + "/three.json"
        let four = folder + "/four.json"
        #expect(try Self.kizuna(["genesis", "combine", "\(folder)/city/genesis.json", "\(folder)/chamber/genesis.json", "\(folder)/operator/genesis.json", "--out", three]).status == 0)
        let combined = try Self.kizuna(["genesis", "combine"] + Self.organisations.map { "\(folder)/\($0.folder)/genesis.json" } + ["--out", four])
        #expect(combined.status == 0, "\(combined.output)")
        let threeValidate = try Self.kizuna(["genesis", "validate", three])
        #expect(threeValidate.status == 1 && threeValidate.output.contains("genesis.missing_approval") && threeValidate.output.contains("Community Bank"), "\(threeValidate.output)")
        let fourValidate = try Self.kizuna(["genesis", "validate", four])
        #expect(fourValidate.status == 0, "\(fourValidate.output)")
        let signed = try GenesisFile.read(path: four)
        #expect(signed.approvals.count == 4)
        #expect(signed.genesis.hash == unsigned.genesis.hash, "approvals lie outside the hashed bytes")

        // 5. A genesis changed after signing (one policy number) is refused.
        let changed = folder + "/changed.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: four))) as? [String: Any])
        var assets = try #require(json["assets"] as? [String: Any])
        var coin = try #require(assets["coin"] as? [String: Any])
        coin["holderCapYen"] = 100_001
        assets["coin"] = coin
        json["assets"] = assets
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: changed))
        let changedValidate = try Self.kizuna(["genesis", "validate", changed])
        #expect(changedValidate.status == 1 && changedValidate.output.contains("genesis.bad_approval"), "\(changedValidate.output)")

        // 6. A real node process: refuses three approvals and a changed genesis, runs four.
        let node = folder + "/city/node"
        try FileManager.default.createDirectory(atPath: node, withIntermediateDirectories: true)
        let signerInit = try Self.kizuna(["signer", "init", "--data", node + "/data"])
        #expect(signerInit.status == 0, "\(signerInit.output)")
        let apiPort = try NodeProcess.freePort()
        let peerPort = try NodeProcess.freePort()
        func configure(_ genesis: String) throws -> String {
            let path = node + "/node.toml"
            let text = """
            dataDirectory = "data"
            genesisFile = "\(genesis)"
            validatorKeyFile = "\(cityKey)"

            [api]
            host = "127.0.0.1"
            port = \(apiPort)

            [network]
            listen = "127.0.0.1:\(peerPort)"

            """
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let refusedThree = try Self.kizuna(["node", "--config", try configure(three), "--passphrase-file", passphrase])
        #expect(refusedThree.status == 1 && refusedThree.output.contains("genesis.missing_approval"), "\(refusedThree.output)")
        let refusedChanged = try Self.kizuna(["node", "--config", try configure(changed), "--passphrase-file", passphrase])
        #expect(refusedChanged.status == 1 && refusedChanged.output.contains("genesis.bad_approval"), "\(refusedChanged.output)")
        let noPassphrase = try Self.kizuna(["node", "--config", try configure(four)])
        #expect(noPassphrase.status != 0 && noPassphrase.output.contains("keystore.passphrase_required"), "\(noPassphrase.output)")

        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = ["node", "--config", try configure(four), "--passphrase-file", passphrase]
        let logPath = node + "/node.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        var answered = false
        for _ in 0..<1200 where process.isRunning && !answered {
            let request = URLRequest(url: URL(string: "http://127.0.0.1:\(apiPort)/v1/status")!)
            if let (_, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200 {
                answered = true
            } else {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
        #expect(answered, "the node did not run the fully approved genesis: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }
}
