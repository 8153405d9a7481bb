import ArgumentParser
import KizunaCore
import KizunaWallet

/// `kizuna wallet set-rebate-tiers` (issue 18, ADR 0021). Charge channels and category fees
/// change by governance: `kizuna governance propose --charge-channels` / `--category-fees`.
extension WalletCommand {
    struct SetRebateTiersCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-rebate-tiers",
            abstract: "Make a rebate program's rate depend on the resident's monthly spend (the program issuer's key).",
            discussion: """
            Each --tier is SPEND:BASIS_POINTS: from SPEND yen of coins paid at merchants in the \
            Japan-time month (the payment included), the program rebates BASIS_POINTS (500 = 5%). \
            Below the lowest tier it rebates nothing. No --tier removes the tiers.
            Example: --tier 10000:500 --tier 30000:1000
            """
        )
        @OptionGroup var submission: Submission
        @Option(help: "The program id.") var program: UInt64
        @Option(help: "SPEND:BASIS_POINTS, ascending by spend (repeat).") var tier: [String] = []

        func run() async throws {
            let tiers = try tier.map(Self.parse)
            try await submission.submit { _ in .setRebateTiers(SetRebateTiers(program: program, tiers: tiers)) }
        }

        static func parse(_ text: String) throws -> RebateTier {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let spend = UInt64(parts[0]), let rate = UInt32(parts[1]) else {
                throw ValidationError("--tier '\(text)' is not SPEND:BASIS_POINTS (e.g. 10000:500)")
            }
            return RebateTier(minimumMonthlySpendYen: spend, basisPoints: rate)
        }
    }
}
