import ArgumentParser
import Foundation
import KizunaCore
import KizunaWallet

/// `kizuna wallet pay-business`, `invoice …` and `consent` (issue 21).
extension WalletCommand {
    struct PayBusinessCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "pay-business", abstract: "Pay another business in coins (a merchant's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The business paid (kz1…).") var to: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "Your reference: an order or delivery note.") var reference: String

        func body() throws -> TransactionBody {
            let to = try WalletCommand.account(self.to, "to")
            return .payBusiness(PayBusiness(to: to, amount: amount, reference: reference))
        }
    }

    struct InvoiceCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "invoice",
            abstract: "Issue, pay, cancel and read invoices between businesses.",
            discussion: "An invoice's id is the id of its issue transaction (printed when it commits). Only its issuer and payer can read it.",
            subcommands: [Issue.self, PayCommand.self, Cancel.self, Show.self, List.self]
        )

        struct Issue: WalletSubmittingCommand {
            static let configuration = CommandConfiguration(abstract: "Bill another business (your key is the payee's).")
            @OptionGroup var submission: Submission
            @Option(help: "The business billed (kz1…).") var payer: String
            @Option(help: "Amount in yen.") var amount: UInt64
            @Option(help: "Due date and time, RFC 3339 (e.g. 2026-05-31T23:59:59+09:00).") var due: String
            @Option(help: "Your invoice number (unique among your invoices).") var reference: String

            func body() throws -> TransactionBody {
                let payer = try WalletCommand.account(self.payer, "payer")
                guard let dueAt = CivilTime.parseRFC3339(due) else { throw ValidationError("--due must be RFC 3339 with seconds and an offset, e.g. 2026-05-31T23:59:59+09:00") }
                return .issueInvoice(IssueInvoice(payer: payer, amount: amount, dueAt: dueAt, reference: reference))
            }
        }

        struct PayCommand: WalletSubmittingCommand {
            static let configuration = CommandConfiguration(commandName: "pay", abstract: "Pay all or part of what is open on an invoice addressed to you.")
            @OptionGroup var submission: Submission
            @Option(help: "The invoice id (64 hex digits).") var id: String
            @Option(help: "The issuer's address (kz1…), as on the invoice.") var issuer: String
            @Option(help: "Amount in yen (at most what is open).") var amount: UInt64

            func body() throws -> TransactionBody {
                let invoice = try WalletCommand.hash(id, "id")
                let issuer = try WalletCommand.account(self.issuer, "issuer")
                return .payInvoice(PayInvoice(invoice: invoice, issuer: issuer, amount: amount))
            }
        }

        struct Cancel: WalletSubmittingCommand {
            static let configuration = CommandConfiguration(abstract: "Cancel what is still open on an invoice you issued.")
            @OptionGroup var submission: Submission
            @Option(help: "The invoice id (64 hex digits).") var id: String
            @Option(help: "The payer's address (kz1…), as on the invoice.") var payer: String

            func body() throws -> TransactionBody {
                let invoice = try WalletCommand.hash(id, "id")
                let payer = try WalletCommand.account(self.payer, "payer")
                return .cancelInvoice(CancelInvoice(invoice: invoice, payer: payer))
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an invoice and its status (a signed read by its issuer or payer; JSON).")
            @OptionGroup var connection: Connection
            @Option(help: "The invoice id (64 hex digits).") var id: String

            func run() async throws {
                let invoice = try WalletCommand.hash(id, "id")
                try await connection.printSignedRead { client, _ in try await client.invoice(invoice) }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the invoices you issued or must pay, with their status (a signed read; JSON).")
            @OptionGroup var connection: Connection
            @Option(help: "Invoices at most.") var limit: Int = 20

            func run() async throws {
                try await connection.printSignedRead { client, key in try await client.invoices(of: key.publicKey, limit: limit) }
            }
        }
    }

    struct ConsentCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(
            commandName: "consent",
            abstract: "Replace your opt-in attributes, or withdraw analytics consent (a resident's key).",
            discussion: "The attributes given replace all of the current ones (leave one out to stop sharing it). --withdraw takes your payments out of every aggregate from the block it commits in."
        )
        @OptionGroup var submission: Submission
        @Option(help: "District to share.") var district: String?
        @Option(help: "Age band 0–6 to share.") var ageBand: UInt8?
        @Flag(help: "Withdraw analytics consent (no attributes may be given).") var withdraw = false

        func body() throws -> TransactionBody {
            if withdraw && (district != nil || ageBand != nil) { throw ValidationError("--withdraw shares no attributes: leave --district and --age-band out") }
            return .updateConsent(UpdateConsent(district: district, ageBand: ageBand, analytics: !withdraw))
        }
    }
}
