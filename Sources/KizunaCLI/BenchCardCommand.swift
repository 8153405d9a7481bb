import ArgumentParser
import Foundation
import KizunaBench

/// `kizuna bench card`: card payments through the custodian on four validators (issue 19).
struct BenchCardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card",
        abstract: "Measure card payments through the card custodian on four validators: payments/s (PIN hash included) and request-to-commit latency.",
        discussion: """
        Starts four validators of a fresh local- chain with a card policy and `kizuna \
        card-service` as child processes (scratch folder --folder, free ports on 127.0.0.1), \
        issues, registers and charges --cards cards, registers one merchant per terminal, then: \
        latency — one terminal pays with one card, payment after payment, each timed from the \
        terminal's request to the custodian's answer, which comes only once the payment is \
        committed; throughput — --terminals terminals pay at once with their own cards for \
        --seconds. Also measures Ed25519 verifications/s (the machine's limit) and reads the \
        custodian's mean PIN-check time from its metrics. Build in release for figures; --quick \
        runs briefly (CI).
        """
    )

    @Flag(help: "A few seconds of each part, on 4 cards and 2 terminals.") var quick = false
    @Option(help: "Cards to issue (each terminal pays with its own share).") var cards: Int?
    @Option(help: "Terminals paying at once in the throughput part.") var terminals: Int?
    @Option(help: "Payments in the latency part.") var latencyPayments: Int?
    @Option(help: "Seconds of the throughput part.") var seconds: Double?
    @Option(help: "The PIN hash's scrypt cost, log2 N (the service's default is 14).") var pinScryptLogN: Int?
    @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench-card"
    @OptionGroup var output: BenchResultFile

    func run() async throws {
        let executable = BenchNetworkCommand.currentExecutable()
        var options = quick ? CardBenchmark.Options.quick(executable: executable, folder: folder) : CardBenchmark.Options(executable: executable, folder: folder)
        if let cards { options.cards = cards }
        if let terminals { options.terminals = terminals }
        if let latencyPayments { options.latencyPayments = latencyPayments }
        if let seconds { options.seconds = seconds }
        if let pinScryptLogN { options.pinScryptLogN = pinScryptLogN }
        guard options.cards >= options.terminals, options.terminals >= 1, options.latencyPayments >= 1, (10...20).contains(options.pinScryptLogN) else {
            throw ValidationError("at least one terminal and as many cards as terminals; --pin-scrypt-log-n 10–20")
        }
        let result = try await CardBenchmark.run(options) { line in print(line) }
        print("""

        | measure | value |
        |---|---|
        | card payments/s through the custodian (\(result.terminals) terminals, \(result.cards) cards, PIN scrypt logN \(result.pinScryptLogN)) | \(String(format: "%.1f", result.paymentsPerSecond)) (\(result.throughputPayments) in \(String(format: "%.1f", result.throughputSeconds)) s) |
        | card payment request → committed answer, p50 / p90 / max | \(String(format: "%.0f / %.0f / %.0f ms", result.latencyMilliseconds["p50"] ?? 0, result.latencyMilliseconds["p90"] ?? 0, result.latencyMilliseconds["max"] ?? 0)) (\(result.latencyPayments) payments) |
        | PIN check inside the custodian (mean) | \(String(format: "%.1f ms", result.pinCheckMillisecondsMean)) |
        | Ed25519 verify/s, one core / \(result.cores) cores | \(String(format: "%.0f / %.0f", result.ed25519VerifyPerSecondOneCore, result.ed25519VerifyPerSecondAllCores)) |
        """)
        try output.write(result)
        if quick && result.throughputPayments == 0 { throw ExitCode(1) }
    }
}
