import Foundation
import Testing
import KizunaCore
import KizunaWallet

/// Issue 20, must-be-true 4, on real processes (ADR 0018): the four validators run; a fifth
/// node with a key nobody configured starts; governance, signed offline by three of the four
/// organisations with `kizuna governance sign`, adds the fifth and removes the bank from a
/// future height. Commits continue across the change, the certificates after it hold only the
/// new set's signatures (the newcomer's among them), the bank's votes no longer make a quorum,
/// and `kizuna audit` of the whole chain passes. Every wait is a bounded poll; the one "nothing
/// happens" check compares heights across a pause.
@Suite("Governance on four validator processes", .serialized)
struct GovernanceProcessTests {
    static func cli(_ arguments: [String]) throws -> (status: Int32, output: String) { try NetworkProcessTests.runCLI(arguments) }

    static func height(_ network: LocalNetworkProcesses, _ name: String) async -> UInt64 { await network.status(name)?.height ?? 0 }

    /// The certificate signers and the validator-set hash of block `height`, read through the
    /// auditor's token.
    static func block(_ network: LocalNetworkProcesses, _ name: String, at height: UInt64) async -> (signers: Set<String>, validatorSetHash: String)? {
        let client = network.client(name).authenticated(.bearer(LocalNetworkProcesses.auditorToken))
        guard let json = try? await client.block(at: height).json,
              let header = json["header"] as? [String: Any], let setHash = header["validatorSetHash"] as? String,
              let certificate = json["certificate"] as? [String: Any], let signatures = certificate["signatures"] as? [[String: Any]] else { return nil }
        return (Set(signatures.compactMap { $0["validator"] as? String }), setHash)
    }

    @Test func aValidatorIsAddedAndAnotherRemovedWhileTheChainRuns() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "governance", newcomer: true)
        defer { network.removeAll() }
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        let newcomer = LocalNetworkProcesses.newcomerName
        // The newcomer runs from the start, but no validator accepts its key yet.
        #expect(try await network.start(newcomer), "the newcomer did not start: \(network.log(newcomer))")
        #expect(await network.eventually { await Self.height(network, "city") >= 3 }, "no commits: \(network.log("city"))")

        // The proposal: the bank leaves, the newcomer joins, from a height ~40 blocks ahead.
        let folder = network.folder.path
        let keyOf = { (name: String) in "\(folder)/\(name)/node.key.json" }
        let members = ["city", "chamber", "operator"] + [newcomer]
        let setFile = "\(folder)/validators.json"
        let entries = members.map { GenesisDocument.ValidatorEntry(name: $0, organisation: "Test \($0)", publicKey: LocalNetworkProcesses.key($0).publicKey.address.description, votingPower: 1) }
        try JSONEncoder().encode(entries).write(to: URL(fileURLWithPath: setFile))
        let effective = await Self.height(network, "city") + 40
        let proposal = "\(folder)/proposal.json"
        let proposed = try Self.cli(["governance", "propose", "--chain-id", network.genesis.chainId, "--effective-height", "\(effective)", "--validators", setFile, "--out", proposal])
        #expect(proposed.status == 0, "\(proposed.output)")
        // Each organisation signs its own copy offline; the copies are combined.
        var copies: [String] = []
        for name in ["city", "chamber", "operator"] {
            let copy = "\(folder)/proposal-\(name).json"
            try FileManager.default.copyItem(atPath: proposal, toPath: copy)
            let signed = try Self.cli(["governance", "sign", copy, "--key", keyOf(name)])
            #expect(signed.status == 0, "\(signed.output)")
            copies.append(copy)
        }
        let combined = "\(folder)/proposal-combined.json"
        let merged = try Self.cli(["governance", "combine"] + copies + ["--out", combined])
        #expect(merged.status == 0 && merged.output.contains("approvals: 3"), "\(merged.output)")
        // Two approvals are not enough: the chain refuses with the stable code.
        let short = try Self.cli(["governance", "submit", copies[0], "--node", "http://127.0.0.1:\(network.apiPorts["city"]!)", "--key", try Self.authorityKeyFile(network)])
        #expect(short.status != 0 && short.output.contains("ledger.governance_no_quorum"), "\(short.output)")
        let submitted = try Self.cli(["governance", "submit", combined, "--node", "http://127.0.0.1:\(network.apiPorts["city"]!)", "--key", try Self.authorityKeyFile(network)])
        #expect(submitted.status == 0 && submitted.output.contains("committed"), "\(submitted.output)")
        let governance = try await network.client("chamber").get("v1/governance").json
        let sets = governance?["validatorSets"] as? [[String: Any]] ?? []
        #expect(sets.count == 2 && (sets.last?["fromHeight"] as? Int).map(UInt64.init) == effective, "\(governance ?? [:])")

        // Commits continue across the change; the newcomer signs once it has caught up.
        let newcomerAddress = LocalNetworkProcesses.newcomerKey.publicKey.address.description
        let bankAddress = LocalNetworkProcesses.key("bank").publicKey.address.description
        #expect(await network.eventually { await Self.height(network, "city") >= effective + 3 }, "no commits across the change: \(network.log("city"))")
        #expect(await network.eventually {
            let tip = await Self.height(network, "city")
            return await Self.block(network, "city", at: tip)?.signers.contains(newcomerAddress) == true
        }, "the newcomer never signed a certificate: \(network.log(newcomer))")
        let before = try #require(await Self.block(network, "city", at: effective - 1))
        let after = try #require(await Self.block(network, "city", at: effective))
        #expect(before.validatorSetHash != after.validatorSetHash)
        let tip = await Self.height(network, "city")
        for height in effective...tip {
            let block = try #require(await Self.block(network, "city", at: height))
            #expect(!block.signers.contains(bankAddress), "the removed validator signed block \(height)")
            #expect(block.validatorSetHash == after.validatorSetHash)
        }

        // The bank's votes no longer count: without the operator and the newcomer, city,
        // chamber and the bank (a quorum of the old set) commit nothing; with the operator back
        // (city, chamber, operator: a quorum of the new set) commits resume.
        network.stop("operator")
        let withoutOperator = await Self.height(network, "city")
        #expect(await network.eventually { await Self.height(network, "city") >= withoutOperator + 3 }, "three of the new set (newcomer included) did not commit: \(network.log("city"))")
        network.stop(newcomer)
        let stalled = await Self.height(network, "city")
        try await Task.sleep(nanoseconds: 6_000_000_000)
        let afterPause = await Self.height(network, "city")
        #expect(afterPause <= stalled + 1, "city, chamber and the removed bank committed \(afterPause - stalled) blocks: the bank's votes counted")
        #expect(try await network.start("operator"), "operator did not restart: \(network.log("operator"))")
        #expect(await network.eventually { await Self.height(network, "city") >= afterPause + 3 }, "commits did not resume with the operator back: \(network.log("city"))")

        // `kizuna audit` of the whole chain, exported from the removed validator's own store.
        let reference = await Self.height(network, "city")
        #expect(await network.eventually { await Self.height(network, "bank") >= reference }, "the bank did not follow the chain as a non-validator")
        for name in LocalNetworkProcesses.validatorNames { network.stop(name) }
        let genesisPath = network.folder.appendingPathComponent("genesis.json").path
        let exportPath = network.folder.appendingPathComponent("chain.kzx").path
        let exported = try Self.cli(["export", "--data", network.dataDirectory("bank"), "--genesis", genesisPath, "--out", exportPath])
        #expect(exported.status == 0, "export failed: \(exported.output)")
        let audited = try Self.cli(["audit", "--genesis", genesisPath, "--export", exportPath])
        #expect(audited.status == 0 && audited.output.contains("ok: "), "audit of the chain with a validator-set change failed: \(audited.output)")
        let verified = try Self.cli(["verify", "--data", network.dataDirectory("city"), "--genesis", genesisPath])
        #expect(verified.status == 0, "verify of a store with a validator-set change failed: \(verified.output)")
    }

    /// The coin issuer's key as a wallet key file (an authority submits the governance change).
    static func authorityKeyFile(_ network: LocalNetworkProcesses) throws -> String {
        let path = network.folder.appendingPathComponent("coin-issuer.key.json").path
        if !FileManager.default.fileExists(atPath: path) { try KeyFile(key: LocalNetworkProcesses.coinIssuer).write(path: path) }
        return path
    }
}
