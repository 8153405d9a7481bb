import ArgumentParser

/// The `kizuna` command: argument parsing only; the work is in the libraries.
@main
struct Kizuna: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kizuna",
        abstract: "Kizuna: a permissioned ledger node for a city's community currency.",
        discussion: """
        Run a node, generate keys, build and check a genesis, verify a stored chain, and \
        submit signed transactions. Start a local development chain with tools/local-chain.
        """,
        version: "0.1.0",
        subcommands: [NodeCommand.self, KeysCommand.self, KeygenCommand.self, GenesisCommand.self, DevKeysCommand.self, VerifyCommand.self, AccountCommand.self, ReportCommand.self, AuditCommand.self, IndexCommand.self, ExportCommand.self, SimulateCommand.self, SignerCommand.self, BackupCommand.self, RestoreCommand.self, SnapshotCommand.self, WalletCommand.self, GovernanceCommand.self, CardCommand.self, CardServiceCommand.self, BenchCommand.self]
    )
}
