import ArgumentParser
import Foundation
import KizunaChain
import KizunaCore
import KizunaLedger

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the ledger's reports (design §2.5) as JSON, at the tip or at any height.",
        discussion: """
        Reads a node's data folder read-only (safe beside a running node). With --height, the \
        state at that height is rebuilt by replaying and re-validating the chain up to it.
        """,
        subcommands: [Supply.self, UnusedBalance.self, Programs.self, Premiums.self, Collections.self, Settlements.self, SettlementFile.self, Accounts.self, Aggregates.self, Invariants.self]
    )

    struct Source: ParsableArguments {
        @OptionGroup var chain: StoredChain
        @Option(help: "Report the state after this block (default: the tip).") var height: UInt64?

        func blocks() throws -> BlockStore {
            let blocks = try chain.open()
            guard let height else { return blocks }
            return try ChainReports.state(at: height, of: blocks)
        }

        func reports() throws -> LedgerReports {
            let blocks = try blocks()
            return LedgerReports(store: blocks.store, genesis: blocks.genesis)
        }
    }

    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    struct Supply: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Supply per asset: minted, redeemed, refunded, expired, outstanding.")
        @OptionGroup var source: Source
        func run() throws { try ReportCommand.printJSON(try source.reports().supply()) }
    }

    struct UnusedBalance: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The statutory unused-balance report for a base date, with the deposit it requires.")
        @OptionGroup var source: Source
        @Option(help: "The base date, yyyy-mm-dd: 31 March or 30 September.") var date: String

        func run() throws {
            let parts = date.split(separator: "-").compactMap { Int64($0) }
            guard parts.count == 3, let report = try source.reports().unusedBalance(year: parts[0], month: parts[1], day: parts[2]) else {
                throw ValidationError("--date must be a base date: yyyy-03-31 or yyyy-09-30")
            }
            try ReportCommand.printJSON(report)
        }
    }

    struct Programs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Program utilization: budget, granted, used, expired, outstanding, remaining.")
        @OptionGroup var source: Source
        func run() throws { try ReportCommand.printJSON(try source.reports().programs()) }
    }

    struct Premiums: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Premium sales: rule, charges, paid yen and premium minted per sale.")
        @OptionGroup var source: Source
        func run() throws { try ReportCommand.printJSON(try source.reports().premiums()) }
    }

    struct Collections: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Taxes, fees and donations collected, by organisation, Japan-time month and purpose.")
        @OptionGroup var source: Source
        @Option(help: "Only this month, yyyymm (e.g. 202607).") var month: UInt32?
        func run() throws { try ReportCommand.printJSON(try source.reports().collections(month: month)) }
    }

    struct Settlements: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A merchant's settlement statement, split by funder.")
        @OptionGroup var source: Source
        @Option(help: "The merchant's address (kz1…).") var merchant: String

        func run() throws {
            let key = try refusingAsUsage { try Address(parsing: merchant).publicKey }
            guard let statement = try source.reports().settlements(merchant: key) else {
                throw ValidationError("\(merchant) is not a registered merchant")
            }
            try ReportCommand.printJSON(statement)
        }
    }

    struct SettlementFile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settlement-file",
            abstract: "A funder's daily settlement file: the CSV of docs/settlement-file.md, from the chain only.",
            discussion: "Redemptions from the day before's cut-off up to this day's (Japan time) are in the day's file; it is final once a block at or after the cut-off is committed."
        )
        @OptionGroup var source: Source
        @Option(help: "The funder's address (kz1…): the coin issuer, or a program's funder.") var funder: String
        @Option(help: "The settlement day, yyyy-mm-dd (Japan time).") var date: String
        @Option(help: "The cut-off, HH:MM Japan time (the nodes' api.settlementCutoff).") var cutoff: String = "15:00"
        @Option(help: "Write the CSV here instead of standard output.") var out: String?

        func run() throws {
            let key: PublicKey
            do { key = try Address(parsing: funder).publicKey } catch { throw ValidationError("--funder: \(error)") }
            guard let cutoff = SettlementCutoff(text: cutoff) else { throw ValidationError("--cutoff must be HH:MM, 00:00–23:59") }
            let parts = date.split(separator: "-", omittingEmptySubsequences: false).compactMap { Int64($0) }
            guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { throw ValidationError("--date must be yyyy-mm-dd") }
            let blocks = try source.blocks()
            let file = try LedgerReports(store: blocks.store, genesis: blocks.genesis).settlementFile(funder: key, year: parts[0], month: parts[1], day: parts[2], cutoff: cutoff, asOf: try blocks.tip().timestamp)
            if let out {
                try Data(file.csv.utf8).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
            } else {
                print(file.csv, terminator: "")
            }
        }
    }

    struct Accounts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accounts by role (visitors apart, and expired visitors), and residents who withdrew analytics consent.")
        @OptionGroup var source: Source

        func run() throws {
            let blocks = try source.blocks()
            try ReportCommand.printJSON(try LedgerReports(store: blocks.store, genesis: blocks.genesis).roleCounts(at: try blocks.tip().timestamp))
        }
    }

    struct Aggregates: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Payment aggregates of closed days by category, hour, district and age band; groups under 10 residents suppressed (docs/api.md).")
        @OptionGroup var source: Source
        @Option(help: "First Japan-time day, yyyymmdd.") var from: UInt32
        @Option(help: "Last Japan-time day, yyyymmdd.") var to: UInt32

        func run() throws {
            try ReportCommand.printJSON(try ChainReports.paymentAggregates(blocks: source.blocks(), fromDay: from, toDay: to))
        }
    }

    struct Invariants: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the invariants of design §2.4 over the whole state; exit 1 on a violation.")
        @OptionGroup var source: Source

        func run() throws {
            if let violation = try source.reports().invariantViolation() {
                print("VIOLATED: \(violation)")
                throw ExitCode(1)
            }
            print("ok: every invariant of design §2.4 holds")
        }
    }
}
