import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KizunaCore
import KizunaNode
import KizunaChain

/// `kizuna backup`: asks a running node for a checkpoint of its store (docs/operations.md
/// "Backup and restore").
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Ask a running node to write a consistent backup of its store into a new folder on its machine.",
        discussion: """
        The node itself takes the backup (a RocksDB checkpoint: it holds the store's lock), while it \
        keeps committing, and writes '<folder>/chain' and '<folder>/backup.json' (the height, tip hash \
        and state root backed up, and every file's SHA-256). Needs a consortium member's token \
        (not an auditor's). The folder must not exist; its parent must, on the node's machine. The \
        genesis file, the node's key and its TOML are not in a backup: keep them separately. \
        Restore with 'kizuna restore'.
        """
    )

    @OptionGroup var admin: AdminRequest
    @Option(help: "An absolute path of a new folder on the node's machine.") var to: String

    func run() async throws {
        let (height, tip, json) = try await admin.post("v1/admin/backup", to: to, failureCode: "backup.failed", hash: ("tipHash", "tip"))
        print("backed up height \(height) tip \(tip) state root \(json["stateRoot"] as? String ?? "?") into \(to) (\(json["files"] as? Int ?? 0) files, \(json["bytes"] as? Int ?? 0) bytes)")
    }
}

/// `kizuna restore`: a backup into a new data folder, verified like a node's start.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new data folder and verify it (heights, hashes, certificates, state root).",
        discussion: """
        Checks every file against the backup's manifest (refuses 'backup.incomplete', 'backup.tampered', \
        'backup.other_chain'), copies them into '<data>/chain' (refuses 'restore.target_not_empty' unless \
        the folder is new or empty), then runs the chain check a node runs on start \
        ('restore.verify_failed'). The consensus journal in the backup is NOT restored: it holds the \
        signer record of the past, and a validator signing from it could sign twice at a height it \
        already signed. A validator keeps its current journal with --keep-journal-from <its current data \
        folder> (its node stopped); without it the restored folder has no signer record and a validator \
        refuses to start ('node.signer_missing') — run it as an observer, or see docs/operations.md.
        """
    )

    @Option(help: "The backup folder (with backup.json and chain/).") var from: String
    @Option(help: "The new data folder (the node's dataDirectory): absent or empty.") var data: String
    @Option(help: "The chain's genesis file.") var genesis: String
    @Option(help: "A validator's current data folder whose consensus journal (signer record) the restored folder keeps.") var keepJournalFrom: String?

    func run() throws {
        let genesisValue = try GenesisCommand.load(genesis)
        try failingWithVerdict {
            let restored = try NodeBackup.restore(backup: from, to: data, genesis: genesisValue, keepJournalFrom: keepJournalFrom)
            let summary = restored.summary
            print("restored and verified height \(summary.height) tip \(summary.tipHash.hex) state root \(summary.stateRoot.hex) (\(summary.transactions) transactions) into \(data)")
            if keepJournalFrom != nil {
                print("kept the consensus journal of \(keepJournalFrom!) (\(restored.journalEntriesKept) entries)")
            } else {
                print("the consensus journal is empty: a validator key refuses to sign from this folder (node.signer_missing) until its current journal is restored with --keep-journal-from, or see docs/operations.md")
            }
        }
    }
}

/// The options of a request to a running node's admin API: `kizuna backup`, `kizuna snapshot create`.
struct AdminRequest: ParsableArguments {
    @Option(help: "The node's API URL, e.g. http://127.0.0.1:8080.") var node: String
    @Option(help: "A consortium member's bearer token (or set KIZUNA_TOKEN).") var token: String?

    /// POSTs `{"to": to}` to `path` and returns the answer's height and the hash in its field
    /// `hash.field` (called `hash.name` in the refusal when the answer lacks either).
    func post(_ path: String, to: String, failureCode: String, hash: (field: String, name: String)) async throws -> (height: Int, hash: String, json: [String: Any]) {
        let json = try await post(path, to: to, failureCode: failureCode)
        guard let height = json["height"] as? Int, let value = json[hash.field] as? String else {
            print("\(failureCode): the node's answer names no height and \(hash.name): \(json)")
            throw ExitCode(1)
        }
        return (height, value, json)
    }

    /// POSTs `{"to": to}` to an operator route of a running node with a member's token and returns
    /// the JSON answer; prints the problem's code and detail and exits 1 when it is not 200.
    private func post(_ path: String, to: String, failureCode: String) async throws -> [String: Any] {
        guard let token = token ?? ProcessInfo.processInfo.environment["KIZUNA_TOKEN"], !token.isEmpty else {
            throw ValidationError("give a member's token with --token or KIZUNA_TOKEN")
        }
        guard let base = URL(string: node), base.scheme != nil else { throw ValidationError("--node must be a URL such as http://127.0.0.1:8080") }
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["to": to])
        request.timeoutInterval = 3600
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard status == 200 else {
            let code = json["code"] as? String ?? failureCode
            let detail = json["detail"] as? String ?? String(decoding: data, as: UTF8.self)
            print("\(code): \(detail) (HTTP \(status))")
            throw ExitCode(1)
        }
        return json
    }
}
