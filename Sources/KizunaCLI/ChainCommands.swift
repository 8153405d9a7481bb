import ArgumentParser
import Foundation
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaNode
import KizunaRocksDB
import KizunaWallet

/// Opens a node's data folder read-only (safe while the node runs).
func openChain(data: String, genesisPath: String) throws -> BlockStore {
    let genesis = try Genesis.load(path: genesisPath)
    let store = try RocksDBStore(path: data + "/chain", readOnly: true)
    return try BlockStore(store: store, genesis: genesis)
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a node's stored chain: hash links, certificates, signatures, indexes and the state root.",
        discussion: "Opens the data folder read-only, so it may run beside the node. Exits 1 and names the first problem found."
    )

    @Option(help: "The node's data folder (the dataDirectory of its configuration).") var data: String
    @Option(help: "The genesis JSON file.") var genesis: String

    func run() throws {
        do {
            let blocks = try openChain(data: data, genesisPath: genesis)
            let summary = try ChainVerifier(blocks: blocks).verify { height, tip in
                FileHandle.standardError.write(Data("verified \(height)/\(tip)\n".utf8))
            }
            print("ok: height \(summary.height), tip \(summary.tipHash), state root \(summary.stateRoot), \(summary.transactions) transactions, \(summary.stateEntries) state entries")
        } catch {
            print("FAILED: \(error)")
            throw ExitCode(1)
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
    @Option(help: "The node's data folder.") var data: String
    @Option(help: "The genesis JSON file.") var genesis: String

    func run() throws {
        let key: PublicKey
        do {
            key = try Address(parsing: address).publicKey
        } catch {
            throw ValidationError("\(error)")
        }
        let blocks = try openChain(data: data, genesisPath: genesis)
        guard let account = try blocks.account(key) else {
            print("\(address) is not registered")
            throw ExitCode(1)
        }
        print("role \(account.role.name)\(account.merchantCategory.map { " (\($0))" } ?? ""), nonce \(account.nonce), frozen \(account.frozen)")
        print("coin ¥\(account.coin), point \(account.point), thanks \(account.thanks)")
    }
}

struct TransactionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx",
        abstract: "Sign a transaction and submit it to a node.",
        subcommands: [Register.self, Charge.self, Send.self, Pay.self, Thank.self, Grant.self, Redeem.self, Refund.self, Freeze.self, Unfreeze.self]
    )

    struct Common: ParsableArguments {
        @Option(help: "The node's API base URL.") var node: String = "http://127.0.0.1:8080"
        @Option(help: "The signer's key file.") var key: String
        @Option(help: "The chain id.") var chainId: String
        @Option(help: "The signer's next nonce (0 for its first transaction).") var nonce: UInt64
        @Flag(help: "Return as soon as the node accepts it, without waiting for the commit.") var noWait = false

        func submit(_ body: TransactionBody) async throws {
            let privateKey = try KeyFile.load(path: key)
            var builder = TransactionBuilder(chainId: chainId, key: privateKey, nextNonce: nonce)
            let signed = builder.sign(body)
            guard let url = URL(string: node) else { throw ValidationError("--node '\(node)' is not a URL") }
            let reply = try await NodeClient(baseURL: url).submit(signed, waitForCommit: !noWait)
            try SubmissionOutcome.finish(reply, waited: !noWait)
        }
    }

    static func account(_ text: String) throws -> PublicKey {
        do {
            return try Address(parsing: text).publicKey
        } catch {
            throw ValidationError("\(error)")
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an account (signed by the registrar).")
        @OptionGroup var common: Common
        @Option(help: "Address of the new account.") var account: String
        @Option(help: "resident or merchant.") var role: String = "resident"
        @Option(help: "Merchant category (merchants only).") var category: String?
        @Option(help: "District (opt-in).") var district: String?

        func run() async throws {
            let role: Role = switch self.role {
            case "resident": .resident
            case "merchant": .merchant
            default: throw ValidationError("--role must be resident or merchant")
            }
            try await common.submit(.register(KizunaCore.Register(account: try TransactionCommand.account(account), role: role, merchantCategory: category, district: district)))
        }
    }

    struct Charge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Charge coins to a resident (signed by the coin issuer).")
        @OptionGroup var common: Common
        @Option(help: "Address of the resident.") var to: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "Receipt id; a receipt is charged once.") var receipt: String
        @Option(help: "app or charge_machine.") var channel: String = "app"

        func run() async throws {
            guard let channel = ChargeChannel.allCases.first(where: { $0.name == self.channel }) else {
                throw ValidationError("--channel must be app or charge_machine")
            }
            try await common.submit(.charge(KizunaCore.Charge(to: try TransactionCommand.account(to), amount: amount, channel: channel, receiptId: receipt)))
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send coins to another resident.")
        @OptionGroup var common: Common
        @Option(help: "Address of the recipient.") var to: String
        @Option(help: "Amount in yen.") var amount: UInt64

        func run() async throws {
            try await common.submit(.send(KizunaCore.Send(to: try TransactionCommand.account(to), amount: amount)))
        }
    }

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pay a merchant (points first, soonest-expiring, then coins).")
        @OptionGroup var common: Common
        @Option(help: "Address of the merchant.") var merchant: String
        @Option(help: "Amount in yen.") var amount: UInt64

        func run() async throws {
            try await common.submit(.pay(KizunaCore.Pay(merchant: try TransactionCommand.account(merchant), amount: amount)))
        }
    }

    struct Thank: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give thank-you points to another resident.")
        @OptionGroup var common: Common
        @Option(help: "Address of the resident.") var to: String
        @Option(help: "Thanks to give.") var amount: UInt64

        func run() async throws {
            try await common.submit(.thank(KizunaCore.Thank(to: try TransactionCommand.account(to), amount: amount)))
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant points or thanks from a program (signed by its issuer).")
        @OptionGroup var common: Common
        @Option(help: "Program id.") var program: UInt64
        @Option(help: "Address of the resident.") var to: String
        @Option(help: "Amount.") var amount: UInt64

        func run() async throws {
            try await common.submit(.grant(KizunaCore.Grant(program: program, to: try TransactionCommand.account(to), amount: amount)))
        }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cash out everything a merchant received (signed by the merchant).")
        @OptionGroup var common: Common
        @Option(help: "The payout reference (e.g. the bank transfer id).") var reference: String

        func run() async throws {
            try await common.submit(.redeem(KizunaCore.Redeem(reference: reference)))
        }
    }

    struct Refund: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refund a resident's coins in yen (signed by the coin issuer).")
        @OptionGroup var common: Common
        @Option(help: "Address of the resident.") var account: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "moved_away, deceased, service_termination or other (only 'other' is limited).") var reason: String

        func run() async throws {
            guard let reason = RefundReason.allCases.first(where: { $0.name == self.reason }) else {
                throw ValidationError("--reason must be one of \(RefundReason.allCases.map(\.name).joined(separator: ", "))")
            }
            try await common.submit(.refund(KizunaCore.Refund(account: try TransactionCommand.account(account), amount: amount, reason: reason)))
        }
    }

    struct Freeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Freeze an account (lost phone or card; signed by the registrar).")
        @OptionGroup var common: Common
        @Option(help: "Address of the account.") var account: String

        func run() async throws {
            try await common.submit(.freeze(AccountAction(account: try TransactionCommand.account(account))))
        }
    }

    struct Unfreeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unfreeze an account (signed by the registrar).")
        @OptionGroup var common: Common
        @Option(help: "Address of the account.") var account: String

        func run() async throws {
            try await common.submit(.unfreeze(AccountAction(account: try TransactionCommand.account(account))))
        }
    }
}
