import ArgumentParser
import Foundation
import KizunaCore
import KizunaWallet
import KizunaKeyStore
import KizunaCardService
import KizunaNode
import Logging

/// `kizuna card-service`: the card custodian's process (docs/cards.md).
struct CardServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card-service",
        abstract: "Run the card custodian: holds card keys, checks PINs, signs and settles card payments for merchants' terminals.",
        discussion: """
        Residents without a smartphone pay with a card whose QR code carries only a card id. \
        The merchant's terminal sends (card id, amount, PIN, a fresh request nonce, the time) \
        in a request signed with the merchant's key; this service checks the signature, that \
        the signer is a registered merchant, the PIN (a slow salted and peppered scrypt hash; \
        the card locks after pin.attemptsMax wrong PINs in a row, and only the registrar \
        unlocks it), the card's limits, then signs the payment with the card's key, submits it \
        to the node and answers only once it is committed, or with the refusal's code.

        Card keys are sealed (ChaCha20-Poly1305) under a key derived from the operator's \
        passphrase (keyPassphraseFile); PINs and keys are never logged. Every payment is \
        written to the store (synced) before it is submitted, so killing the service at any \
        instant loses no acknowledged payment and pays nothing twice: on restart it settles \
        what it had signed, and a terminal that repeats its request gets the first outcome.

        The registrar issues cards, sets PINs and unlocks cards with `kizuna card`; terminals \
        pay with `kizuna card pay`. The genesis must have a cardPolicy. Print a commented \
        configuration with --print-config; every field is described in docs/cards.md §7.

        Exit status: 0 after SIGTERM or SIGINT; 1 with a coded error on standard error \
        (card.bad_config, card.wrong_passphrase, card.store).
        """
    )

    @Option(help: "The service's configuration file (TOML).") var config: String?
    @Flag(help: "Print a commented configuration file and exit.") var printConfig = false
    @Option(help: "Log lines as text (swift-log's) or json (one object per line, for log collectors).") var logFormat: LogFormat = .text

    func run() async throws {
        if printConfig {
            print(CardServiceConfiguration.example)
            return
        }
        guard let config else { throw ValidationError("give --config <file> (or --print-config for an example)") }
        let (configuration, passphrase) = try await exitingOnError {
            let configuration = try CardServiceConfiguration.load(path: config)
            return (configuration, try KeyStore.readPassphrase(path: configuration.keyPassphraseFile))
        }
        let logger = bootstrapLogging(level: configuration.logLevel, format: logFormat, label: "kizuna.card-service")
        try await exitingOnError(logger: logger) {
            try await CardServiceServer.run(configuration: configuration, passphrase: passphrase, logger: logger)
        }
    }
}

/// `kizuna card …`: the registrar's card administration and the terminal's card payment.
struct CardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card",
        abstract: "Card wallets: issue and register a card, set its PIN, unlock it (the registrar); pay with a card (a merchant's terminal).",
        discussion: """
        Talks to the card custodian (`kizuna card-service`) with requests signed by your key. \
        A lost card is frozen with `kizuna wallet freeze` and its balance moved to a newly \
        issued card with `kizuna wallet recover` (registrar and city), as for a phone. \
        See docs/cards.md.
        """,
        subcommands: [Issue.self, Pin.self, Unlock.self, Show.self, Pay.self, QR.self]
    )

    struct Service: ParsableArguments {
        @Option(help: "The card custodian's base URL.") var service: String = "http://127.0.0.1:8090"
        @Option(help: "The node's API base URL (for the chain id, and to register the card).") var node: String = "http://127.0.0.1:8080"
        @Option(help: "Your key file (the registrar's, or the merchant's for pay).") var key: String
        @Option(help: "A file whose first line is the PIN (default: the environment variable KIZUNA_CARD_PIN).") var pinFile: String?

        func client() async throws -> (CardServiceClient, NodeClient, PrivateKey) {
            guard let serviceURL = URL(string: service) else { throw ValidationError("--service '\(service)' is not a URL") }
            let connection = try WalletCommand.Connection.parse(["--node", node, "--key", key])
            var nodeClient = try connection.client()
            let privateKey = try connection.privateKey()
            let chainId = try await connection.chainId(nodeClient)
            // A local chain's processes may run on a shifted clock; requests are stamped on it.
            try DevelopmentClock.adopt(environment: ProcessInfo.processInfo.environment, chainId: chainId)
            nodeClient.clock = wallClockMilliseconds
            return (CardServiceClient(baseURL: serviceURL, chainId: chainId, key: privateKey, clock: wallClockMilliseconds), nodeClient, privateKey)
        }

        func pin() throws -> String {
            if let pinFile { return try KeyStore.readPassphrase(path: pinFile) }
            guard let pin = ProcessInfo.processInfo.environment["KIZUNA_CARD_PIN"], !pin.isEmpty else {
                throw ValidationError("give the PIN with --pin-file or KIZUNA_CARD_PIN (never on the command line)")
            }
            return pin
        }
    }

    static func cardId(_ text: String) throws -> CardId {
        guard let id = CardId(text) else { throw ValidationError("a card id is 32 lower-case hex digits (or the QR text kizuna-card:<id>)") }
        return id
    }

    /// Prints the service's answer; exit 1 unless it succeeded.
    static func finish(_ reply: NodeClient.Reply) throws {
        print(reply.text)
        guard reply.isSuccess else {
            FileHandle.standardError.write(Data("refused: \(reply.problemCode ?? "HTTP \(reply.statusCode)")\n".utf8))
            throw ExitCode(SubmissionOutcome.refused)
        }
    }

    /// A registrar's request about one card (`--card`): `run` connects, reads the card id,
    /// sends `request` and prints the answer (`finish`).
    protocol CardRequestCommand: AsyncParsableCommand {
        var service: Service { get }
        var card: String { get }
        func request(_ cards: CardServiceClient, _ id: CardId) async throws -> NodeClient.Reply
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a card at the custodian and register its account with role card (the registrar's key).")
        @OptionGroup var service: Service
        @Option(help: "The resident's ID, hashed with --salt (required: one resident, one account).") var residentId: String
        @Option(help: "Hex salt for --resident-id.") var salt: String
        @Option(help: "District (opt-in).") var district: String?
        @Option(help: "Age band 0–6 (opt-in).") var ageBand: UInt8?

        func run() async throws {
            guard let saltBytes = [UInt8](hex: salt), !saltBytes.isEmpty else { throw ValidationError("--salt must be hex") }
            let (cards, node, key) = try await service.client()
            let issued = try await cards.issue(pin: try service.pin())
            guard issued.isSuccess, let card = try? issued.decode(CardServiceMessages.CardView.self) else { return try CardCommand.finish(issued) }
            print("card \(card.cardId) issued for account \(card.account); QR text: \(card.cardId.qrText)")
            let account = try WalletCommand.account(card.account, "account")
            let nonce = try await node.authenticated(.signed(cards.signer)).nextNonce(of: key.publicKey)
            var builder = TransactionBuilder(chainId: cards.signer.chainId, key: key, nextNonce: nonce)
            let register = builder.sign(.register(KizunaCore.Register(account: account, role: .card, residentIdHash: TransactionBuilder.residentIdHash(residentId: residentId, salt: saltBytes), district: district, ageBand: ageBand)))
            try SubmissionOutcome.finish(try await node.submit(register, waitForCommit: true), waited: true)
        }
    }

    struct Pin: CardRequestCommand {
        static let configuration = CommandConfiguration(abstract: "Set a card's PIN (also unlocks it; the registrar's key).")
        @OptionGroup var service: Service
        @Option(help: "The card id.") var card: String

        func request(_ cards: CardServiceClient, _ id: CardId) async throws -> NodeClient.Reply {
            try await cards.setPin(id, pin: try service.pin())
        }
    }

    struct Unlock: CardRequestCommand {
        static let configuration = CommandConfiguration(abstract: "Unlock a card locked by wrong PINs, keeping its PIN (the registrar's key).")
        @OptionGroup var service: Service
        @Option(help: "The card id.") var card: String

        func request(_ cards: CardServiceClient, _ id: CardId) async throws -> NodeClient.Reply { try await cards.unlock(id) }
    }

    struct Show: CardRequestCommand {
        static let configuration = CommandConfiguration(abstract: "Show a card's account and lock state (the registrar's key).")
        @OptionGroup var service: Service
        @Option(help: "The card id.") var card: String

        func request(_ cards: CardServiceClient, _ id: CardId) async throws -> NodeClient.Reply { try await cards.card(id) }
    }

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a card payment at a terminal (the merchant's key): card id or scanned QR text, amount and the PIN the customer typed.",
            discussion: "Exit status 0 only when the payment committed. On a timeout, repeat with the same --request-nonce: the custodian answers with the first outcome and never pays twice."
        )
        @OptionGroup var service: Service
        @Option(help: "The card id, or the scanned QR text kizuna-card:<id>.") var card: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "Repeat a request: the nonce (32 hex digits) and time (ms) it printed.") var requestNonce: String?
        @Option(help: "The time (UTC ms) of the request being repeated.") var requestTime: UInt64?

        func run() async throws {
            let (cards, _, _) = try await service.client()
            let id = try CardCommand.cardId(card)
            var request = CardServiceMessages.PaymentRequest.new(cardId: id, amountYen: amount, pin: try service.pin(), time: cards.clock())
            if let requestNonce { request.requestNonce = requestNonce }
            if let requestTime { request.time = requestTime }
            FileHandle.standardError.write(Data("request nonce \(request.requestNonce), time \(request.time)\n".utf8))
            try CardCommand.finish(try await cards.pay(request))
        }
    }

    struct QR: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "qr", abstract: "Print a card's QR text (and draw it, or write it as SVG) for printing on the card.")
        @Option(help: "The card id.") var card: String
        @Option(help: "Also write the QR code as an SVG image to this path.") var svg: String?
        @Flag(help: "Also draw the QR code in the terminal.") var draw = false

        func run() throws {
            let text = try CardCommand.cardId(card).qrText
            print(text)
            guard svg != nil || draw, let symbol = QRCode.encode(text: text) else { return }
            try symbol.show(svg: svg, draw: draw)
        }
    }
}

extension CardCommand.CardRequestCommand {
    func run() async throws {
        let (cards, _, _) = try await service.client()
        try CardCommand.finish(try await request(cards, try CardCommand.cardId(card)))
    }
}
