import ArgumentParser
import Foundation
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaNode
import KizunaRocksDB
import KizunaWallet

/// `--data` and `--genesis`: a node's stored chain, for the commands that read it.
struct StoredChain: ParsableArguments {
    @Option(help: "The node's data folder (the dataDirectory of its configuration).") var data: String
    @Option(help: "The genesis JSON file.") var genesis: String

    /// Opens the data folder read-only (safe while the node runs).
    func open() throws -> BlockStore {
        let genesis = try Genesis.load(path: genesis)
        return try BlockStore(store: try RocksDBStore(path: data + "/chain", readOnly: true), genesis: genesis)
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a node's stored chain: hash links, certificates, signatures, indexes and the state root.",
        discussion: "Opens the data folder read-only, so it may run beside the node. Exits 1 and names the first problem found."
    )

    @OptionGroup var chain: StoredChain

    func run() throws {
        try failingWithVerdict("FAILED: ") {
            let blocks = try chain.open()
            let summary = try ChainVerifier(blocks: blocks).verify { height, tip in
                FileHandle.standardError.write(Data("verified \(height)/\(tip)\n".utf8))
            }
            print("ok: height \(summary.height), tip \(summary.tipHash), state root \(summary.stateRoot), \(summary.transactions) transactions, \(summary.stateEntries) state entries")
        }
    }
}

struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Show an account's role, nonce and balances from a node's data folder (operator use).",
        discussion: "Reads the store read-only. Residents read their own account through the API instead."
    )

    @Argument(help: "The account address (kz1…).") var address: String
    @OptionGroup var chain: StoredChain

    func run() throws {
        let key = try refusingAsUsage { try Address(parsing: address).publicKey }
        let blocks = try chain.open()
        guard let account = try blocks.account(key) else {
            print("\(address) is not registered")
            throw ExitCode(1)
        }
        print("role \(account.role.name)\(account.merchantCategory.map { " (\($0))" } ?? ""), nonce \(account.nonce), frozen \(account.frozen)")
        print("coin ¥\(account.coin), point \(account.point), thanks \(account.thanks)")
    }
}
