import ArgumentParser
import Foundation
import KizunaBench

/// `kizuna bench console`: the console's server time per page on a chain of a million
/// transactions (issue 17).
struct BenchConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "The web console's server time per page (p50/p99) on a city chain of N transactions.",
        discussion: """
        Builds a chain shaped like a city's through a real single-validator node into \
        RocksDB, in --folder: merchants in eight categories, residents with opt-in district \
        and age band, the city's point, thanks and dining-rebate programs, then rounds in \
        which every resident pays a merchant, with top-up charges, point grants and merchants \
        redeeming, spread over --days of chain time. A folder that already holds a chain \
        built with the same options is reused (--fresh rebuilds it). Then serves the chain as \
        a node does (the API's router with the console, on 127.0.0.1), signs in with a \
        member's token, and requests every page --requests times after a warm-up. Reports \
        the server's own time per page (its Server-Timing header) at p50 and p99, with the \
        client's time over loopback beside it, and the first page and first Money page after \
        start (when the console builds its summaries). Build in release: swift build -c release.
        """
    )

    @Option(help: "Transactions in the chain, set-up included.") var transactions = 1_000_000
    @Option(help: "Residents.") var residents = 10_000
    @Option(help: "Merchants (at most as many as residents).") var merchants = 200
    @Option(help: "Days of chain time the chain spans (the Money page shows the last 30 closed days).") var days = 40
    @Option(help: "Transactions per block.") var blockTransactions = 500
    @Option(help: "Timed requests per page.") var requests = 200
    @Option(help: "Scratch folder for the chain (reused if it holds a chain built with these options).") var folder = ".kizuna/bench-console"
    @Flag(help: "Rebuild the chain even if the folder holds one built with these options.") var fresh = false
    @OptionGroup var output: BenchResultFile

    func validate() throws {
        guard transactions > 0, blockTransactions > 0, requests > 0 else { throw ValidationError("--transactions, --block-transactions and --requests must be positive") }
        guard residents >= 2, (1...residents).contains(merchants) else { throw ValidationError("--residents must be at least 2 and --merchants between 1 and --residents") }
        guard days >= 2 else { throw ValidationError("--days must be at least 2") }
    }

    func run() async throws {
        let benchmark = ConsoleBenchmark(transactions: transactions, residents: residents, merchants: merchants, days: days,
                                         blockTransactionsMax: blockTransactions, folder: folder, fresh: fresh, requests: requests)
        let result = try await benchmark.run(progress: { line in
            print("bench: \(line)")
            fflush(nil)
        })
        var rows = """
        | page | server p50 | server p99 | server max | client p50 | client p99 | bytes |
        |---|---|---|---|---|---|---|
        """
        for page in result.pages {
            rows += "\n" + String(format: "| %@ | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %d |", page.page, page.serverP50, page.serverP99, page.serverMax, page.clientP50, page.clientP99, page.bytes)
        }
        let chain = result.chain
        print("""

        chain: \(chain.blocks) blocks of ≤\(chain.blockTransactionsMax), \(chain.transactions) transactions, \(chain.residents) residents, \(chain.merchants) merchants over \(chain.days) days (\(result.chainReused ? "reused" : String(format: "built in %.0f s", chain.setupSeconds))); \(result.cores) cores; \(result.requestsPerPage) requests per page
        \(String(format: "first page after start %.1f ms; first Money page %.1f ms; worst page p99 %.2f ms", result.firstPageServerMilliseconds, result.firstMoneyPageServerMilliseconds, result.worstServerP99))

        \(rows)
        """)
        fflush(nil)
        try output.write(result)
    }
}
