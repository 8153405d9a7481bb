import ArgumentParser
import Foundation
import KizunaCore
import KizunaChain
import KizunaNode

/// `kizuna snapshot create | verify`: state snapshots for a fast join (docs/snapshots.md).
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take a state snapshot of a running node, or check one against a genesis.",
        discussion: """
        A snapshot holds the state after a certified block h, the block and its certificate: a \
        new node starts from it with 'kizuna node --from-snapshot FILE' and block-syncs from h+1 \
        instead of replaying from genesis. It is checked against the genesis validators and the \
        block's state root before it is used, so it may come from anyone. A node started from \
        one holds no block below h: auditors who verify from genesis use an archive node.
        """,
        subcommands: [SnapshotCreateCommand.self, SnapshotVerifyCommand.self]
    )
}

struct SnapshotCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Ask a running node to write a snapshot of its state at its tip into a new file on its machine.",
        discussion: "Needs a consortium member's token. The file must not exist; its folder must, on the node's machine."
    )

    @OptionGroup var admin: AdminRequest
    @Option(help: "An absolute path of a new file on the node's machine.") var to: String

    func run() async throws {
        let (height, block, json) = try await admin.post("v1/admin/snapshot", to: to, failureCode: "snapshot.failed", hash: ("blockHash", "block"))
        print("snapshot of height \(height) block \(block) state root \(json["stateRoot"] as? String ?? "?") written to \(to) (\(json["records"] as? Int ?? 0) records, \(json["bytes"] as? Int ?? 0) bytes)")
    }
}

struct SnapshotVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a snapshot file against a genesis: certificate, block, and the state tree rebuilt from its records.",
        discussion: "Refusals: snapshot.malformed, snapshot.unsupported_version, snapshot.damaged, snapshot.other_chain, snapshot.bad_certificate, snapshot.bad_block, snapshot.state_root_mismatch."
    )

    @Option(help: "The chain's genesis file.") var genesis: String
    @Argument(help: "The snapshot file.") var file: String

    func run() throws {
        let genesisValue = try GenesisCommand.load(genesis)
        try failingWithVerdict {
            let summary = try NodeSnapshot.load(path: file, genesis: genesisValue).summary
            print("verified snapshot of height \(summary.height) block \(summary.blockHash.hex) state root \(summary.stateRoot.hex) (\(summary.records) records, \(summary.bytes) bytes)")
        }
    }
}
