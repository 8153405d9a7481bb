import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KizunaCore
import KizunaWallet
import KizunaCardService
import Testing

/// `kizuna card-service` as a process beside the four-validator network (issue 19, must be
/// true 1 and 2; docs/cards.md).
@Suite("Card custodian processes")
struct CardServiceProcessTests {
    static let registrar = LocalNetworkProcesses.registrar
    static let coinIssuer = LocalNetworkProcesses.coinIssuer
    static let city = DevelopmentKeys.privateKey("city")

    /// The custodian's process: its folder, configuration, passphrase and token files.
    final class Custodian: @unchecked Sendable {
        let folder: URL
        let port: Int
        /// The network's extra environment (its clock shift) and the clock of its clients.
        let environment: [String: String]
        let clock: @Sendable () -> UInt64
        private var process: Process?
        private var runs = 0

        init(network: LocalNetworkProcesses, node: String = "city", commitWaitMilliseconds: Int = 20_000, requestMaxAgeMilliseconds: Int = 60_000) throws {
            environment = network.environment
            clock = network.clock
            folder = network.folder.appendingPathComponent("custodian")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            port = try NodeProcess.freePort()
            try Data("correct horse battery staple\n".utf8).write(to: folder.appendingPathComponent("vault.pass"))
            try Data("\(LocalNetworkProcesses.auditorToken)\n".utf8).write(to: folder.appendingPathComponent("auditor.token"))
            let configuration = """
            genesisFile = "../genesis.json"
            dataDirectory = "data"
            keyPassphraseFile = "vault.pass"
            logLevel = "info"

            [api]
            host = "127.0.0.1"
            port = \(port)

            [node]
            url = "http://127.0.0.1:\(network.apiPorts[node]!)"
            tokenFile = "auditor.token"
            commitWaitMilliseconds = \(commitWaitMilliseconds)

            [pin]
            attemptsMax = 3
            scryptLogN = 12

            [requests]
            maxAgeMilliseconds = \(requestMaxAgeMilliseconds)
            """
            try Data(configuration.utf8).write(to: folder.appendingPathComponent("card-service.toml"))
        }

        var url: URL { URL(string: "http://127.0.0.1:\(port)")! }
        func logPath(_ run: Int) -> String { folder.appendingPathComponent("service-\(run).log").path }
        var log: String { (1...max(1, runs)).map { (try? String(contentsOfFile: logPath($0), encoding: .utf8)) ?? "" }.joined(separator: "\n--- restart ---\n") }

        /// Starts the process and waits (bounded) for `/health`; false if it exited.
        func start() async throws -> Bool {
            runs += 1
            let process = Process()
            process.executableURL = NodeProcess.executable()
            process.arguments = ["card-service", "--config", folder.appendingPathComponent("card-service.toml").path]
            if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
            FileManager.default.createFile(atPath: logPath(runs), contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath(runs)))
            process.standardOutput = log
            process.standardError = log
            try process.run()
            self.process = process
            for _ in 0..<1200 {
                if !process.isRunning { return false }
                if let (_, response) = try? await URLSession.shared.data(from: url.appendingPathComponent("health")), (response as? HTTPURLResponse)?.statusCode == 200 { return true }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            return false
        }

        func kill() {
            guard let process, process.isRunning else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// A terminal's client; its clock is the network's unless `clock` is given.
        func client(_ key: PrivateKey, chainId: String, clock: (@Sendable () -> UInt64)? = nil) -> CardServiceClient {
            CardServiceClient(baseURL: url, chainId: chainId, key: key, clock: clock ?? self.clock)
        }
    }

    /// Submits `body` signed by `key` through `node` and waits for the commit.
    static func submit(_ network: LocalNetworkProcesses, _ key: PrivateKey, _ body: TransactionBody, cosigners: [PrivateKey] = [], node: String = "city") async throws -> NodeClient.Reply {
        let client = network.client(node)
        let chainId = network.genesis.chainId
        let nonce = try await client.authenticated(.signed(RequestSigner(chainId: chainId, key: key))).nextNonce(of: key.publicKey)
        var builder = TransactionBuilder(chainId: chainId, key: key, nextNonce: nonce)
        return try await client.submit(builder.sign(body, cosigners: cosigners), waitForCommit: true)
    }

    static func committed(_ reply: NodeClient.Reply) -> Bool { reply.statusCode == 200 && reply.json?["status"] as? String == "committed" }

    /// Coins + points of an account, read with the auditor's token.
    static func value(_ network: LocalNetworkProcesses, _ key: PublicKey) async throws -> (total: UInt64, role: String?, nonce: Int?) {
        let reply = try await network.client("city").authenticated(.bearer(LocalNetworkProcesses.auditorToken)).account(key)
        let balances = reply.json?["balances"] as? [[String: Any]] ?? []
        let total = balances.filter { ["coin", "point"].contains($0["asset"] as? String) }.reduce(UInt64(0)) { $0 + UInt64(($1["amount"] as? Int) ?? 0) }
        return (total, reply.json?["role"] as? String, reply.json?["nonce"] as? Int)
    }

    /// Registers merchants, issues and registers a card with `pin`, and charges it.
    static func setUp(_ network: LocalNetworkProcesses, _ custodian: Custodian, merchants: [PrivateKey], pin: String, charge: UInt64, residentId: String) async throws -> (CardId, PublicKey) {
        for (index, merchant) in merchants.enumerated() {
            let reply = try await submit(network, registrar, .register(Register(account: merchant.publicKey, role: .merchant, merchantCategory: ["supermarket", "drugstore", "restaurant"][index % 3])))
            #expect(committed(reply), "\(reply.text)")
        }
        let issued = try await custodian.client(registrar, chainId: network.genesis.chainId).issue(pin: pin)
        #expect(issued.statusCode == 201, "\(issued.text)")
        let card = try issued.decode(CardServiceMessages.CardView.self)
        let account = try Address(parsing: card.account).publicKey
        let registered = try await submit(network, registrar, .register(Register(account: account, role: .card, residentIdHash: TransactionBuilder.residentIdHash(residentId: residentId, salt: [9, 9]))))
        #expect(committed(registered), "\(registered.text)")
        let charged = try await submit(network, coinIssuer, .charge(Charge(to: account, amount: charge, channel: .chargeMachine, receiptId: "card-\(residentId)")))
        #expect(committed(charged), "\(charged.text)")
        return (card.cardId, account)
    }

    /// The shift that puts the processes' clocks at the next 12:00 in Japan, so that a test's
    /// per-day totals stay on one Japan-time day whenever the test runs (the development clock
    /// shift of a local chain; docs/operations.md). Forward only: block times never go back.
    static func offsetToJapanNoon(now: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)) -> Int64 {
        let day: UInt64 = 86_400_000
        let japanNow = now + UInt64(CivilTime.japanOffsetSeconds) * 1000
        let noon = japanNow / day * day + day / 2
        return Int64(noon >= japanNow ? noon - japanNow : noon + day - japanNow)
    }

    @Test("the clock shift lands on 12:00 in Japan and never goes back")
    func japanNoonShift() {
        let noon: UInt64 = 1_780_000_000_000 / 86_400_000 * 86_400_000 + 3 * 3_600_000 // 12:00 JST
        #expect(Self.offsetToJapanNoon(now: noon) == 0)
        #expect(Self.offsetToJapanNoon(now: noon - 1) == 1)
        #expect(Self.offsetToJapanNoon(now: noon + 1) == 86_400_000 - 1)
        #expect(Self.offsetToJapanNoon(now: noon + 12 * 3_600_000 - 1) == 12 * 3_600_000 + 1, "23:59:59.999 in Japan")
        for now in stride(from: noon - 86_400_000, to: noon + 86_400_000, by: 3_599_999) {
            let shifted = Int64(now) + Self.offsetToJapanNoon(now: now)
            #expect(shifted >= Int64(now) && (shifted / 1000 + CivilTime.japanOffsetSeconds) % 86_400 == 43_200)
        }
    }

    @Test("a card is registered, charged and pays with its PIN; wrong PINs lock it; replays, caps across terminals, freeze and recovery hold")
    func cardLifecycle() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "cards", cardPolicy: CardPolicy(holderCapYen: 30_000, perPaymentCapYen: 10_000, perDayCapYen: 15_000))
        defer { network.removeAll() }
        // The per-day cap below is of one Japan-time day: the nodes and the custodian run at noon.
        network.clockOffsetMilliseconds = Self.offsetToJapanNoon()
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        let custodian = try Custodian(network: network)
        defer { custodian.kill() }
        #expect(try await custodian.start(), "the custodian did not start: \(custodian.log)")
        let chainId = network.genesis.chainId
        let (shop, drugstore) = (PrivateKey(), PrivateKey())
        let (cardId, account) = try await Self.setUp(network, custodian, merchants: [shop, drugstore], pin: "43215678", charge: 20_000, residentId: "nagai-0001")
        let terminal = custodian.client(shop, chainId: chainId)
        let otherTerminal = custodian.client(drugstore, chainId: chainId)
        let registrarClient = custodian.client(Self.registrar, chainId: chainId)
        let start = try await Self.value(network, account)
        #expect(start.role == "card" && start.total == 20_300, "¥20,000 charged at a machine and its 1.5% bonus: \(start)")

        // Pays with the right PIN: answered once committed.
        let first = CardServiceMessages.PaymentRequest.new(cardId: cardId, amountYen: 3_000, pin: "43215678", time: terminal.clock())
        let paid = try await terminal.pay(first)
        #expect(paid.statusCode == 200, "\(paid.text)")
        let outcome = try paid.decode(CardServiceMessages.PaymentOutcome.self)
        #expect(outcome.status == "committed" && !outcome.replayed)
        let status = try await network.client("bank").transaction(try #require(Hash(hex: outcome.transactionId)))
        #expect(status.json?["status"] as? String == "committed", "the payment is committed on every node: \(status.text)")
        #expect(try await Self.value(network, account).total == 17_300)
        #expect(try await Self.value(network, shop.publicKey).total == 3_000)

        // A repeated terminal request (re-signed, as a terminal retries) is answered with the
        // first outcome and pays nothing again; the same signed request replayed byte for byte
        // is refused; the nonce reused for another amount is refused; an old request is refused.
        let repeated = try await terminal.pay(first)
        let repeatedOutcome = try repeated.decode(CardServiceMessages.PaymentOutcome.self)
        #expect(repeatedOutcome.replayed && repeatedOutcome.transactionId == outcome.transactionId, "\(repeated.text)")
        let fixedTime = terminal.clock()
        let frozenClock = custodian.client(shop, chainId: chainId, clock: { fixedTime })
        let once = CardServiceMessages.PaymentRequest.new(cardId: cardId, amountYen: 100, pin: "43215678", time: fixedTime)
        #expect(try await frozenClock.pay(once).statusCode == 200)
        let replay = try await frozenClock.pay(once)
        #expect(replay.statusCode == 401 && replay.problemCode == "auth.replayed", "\(replay.text)")
        var reused = once
        reused.amountYen = 200
        let reusedReply = try await terminal.pay(reused)
        #expect(reusedReply.statusCode == 409 && reusedReply.problemCode == "card.request_nonce_reused", "\(reusedReply.text)")
        let stale = CardServiceMessages.PaymentRequest.new(cardId: cardId, amountYen: 100, pin: "43215678", time: terminal.clock() - 120_000)
        #expect(try await terminal.pay(stale).problemCode == "card.request_expired")
        #expect(try await Self.value(network, account).total == 17_200, "3,000 and 100 paid, nothing twice")

        // A key that is not a merchant cannot try PINs; the per-payment cap.
        let stranger = custodian.client(PrivateKey(), chainId: chainId)
        #expect(try await stranger.pay(.new(cardId: cardId, amountYen: 100, pin: "0000", time: stranger.clock())).problemCode == "card.not_a_merchant")
        #expect(try await terminal.pay(.new(cardId: cardId, amountYen: 10_001, pin: "43215678", time: terminal.clock())).problemCode == "ledger.card_payment_cap_exceeded")

        // The per-day cap across terminals: 3,100 so far; 5,900 at the drugstore; then two
        // terminals at once ask for 4,000 each: one fits under ¥15,000, the other does not.
        #expect(try await otherTerminal.pay(.new(cardId: cardId, amountYen: 5_900, pin: "43215678", time: otherTerminal.clock())).statusCode == 200)
        async let left = terminal.pay(.new(cardId: cardId, amountYen: 4_000, pin: "43215678", time: terminal.clock()))
        async let right = otherTerminal.pay(.new(cardId: cardId, amountYen: 4_000, pin: "43215678", time: otherTerminal.clock()))
        let both = try await [left, right]
        #expect(both.filter { $0.statusCode == 200 }.count == 1, "\(both.map(\.text))")
        #expect(both.contains { $0.problemCode == "ledger.card_daily_cap_exceeded" }, "\(both.map(\.text))")
        #expect(try await Self.value(network, account).total == 20_300 - 13_000)

        // Wrong PINs: two attempts left, one, then locked; the right PIN is refused while locked.
        let wrong1 = try await terminal.pay(.new(cardId: cardId, amountYen: 500, pin: "0000", time: terminal.clock()))
        #expect(wrong1.statusCode == 401 && wrong1.problemCode == "card.wrong_pin" && wrong1.text.contains("2 attempts left"), "\(wrong1.text)")
        #expect(try await terminal.pay(.new(cardId: cardId, amountYen: 500, pin: "1111", time: terminal.clock())).problemCode == "card.wrong_pin")
        let third = try await otherTerminal.pay(.new(cardId: cardId, amountYen: 500, pin: "2222", time: otherTerminal.clock()))
        #expect(third.statusCode == 423 && third.problemCode == "card.locked", "\(third.text)")
        #expect(try await terminal.pay(.new(cardId: cardId, amountYen: 500, pin: "43215678", time: terminal.clock())).problemCode == "card.locked")
        // Only the registrar unlocks (a merchant may not), and sets a new PIN.
        #expect(try await terminal.unlock(cardId).problemCode == "card.not_registrar")
        #expect(try await registrarClient.unlock(cardId).statusCode == 200)
        #expect(try await terminal.pay(.new(cardId: cardId, amountYen: 500, pin: "43215678", time: terminal.clock())).statusCode == 200)
        #expect(try await registrarClient.setPin(cardId, pin: "98761234").statusCode == 200)
        #expect(try await terminal.pay(.new(cardId: cardId, amountYen: 500, pin: "43215678", time: terminal.clock())).problemCode == "card.wrong_pin")
        #expect(try await terminal.pay(.new(cardId: cardId, amountYen: 500, pin: "98761234", time: terminal.clock())).statusCode == 200)
        #expect(try await Self.value(network, account).total == 20_300 - 14_000)

        // A replayed customer-presented authorisation (a phone's QR kept by a merchant) is refused.
        let phone = PrivateKey()
        #expect(Self.committed(try await Self.submit(network, Self.registrar, .register(Register(account: phone.publicKey, role: .resident)))))
        #expect(Self.committed(try await Self.submit(network, Self.coinIssuer, .charge(Charge(to: phone.publicKey, amount: 5_000, channel: .app, receiptId: "phone-1")))))
        let code = try PaymentCode.authorise(chainId: chainId, key: phone, merchant: nil, capYen: 2_000, now: terminal.clock())
        let scanned = try PaymentCode.parse(PaymentCode.text(code))
        #expect(Self.committed(try await Self.submit(network, shop, .payAuthorised(PayAuthorised(authorisation: scanned, amount: 1_500)))))
        let again = try await Self.submit(network, drugstore, .payAuthorised(PayAuthorised(authorisation: scanned, amount: 1_500)))
        #expect(again.statusCode == 422 && again.problemCode == "ledger.authorisation_used", "\(again.text)")

        // A lost card: frozen, it cannot pay (the ledger refuses what the custodian signed).
        #expect(Self.committed(try await Self.submit(network, Self.registrar, .freeze(AccountAction(account: account)))))
        let frozen = try await terminal.pay(.new(cardId: cardId, amountYen: 100, pin: "98761234", time: terminal.clock()))
        #expect(frozen.statusCode == 422 && frozen.problemCode == "ledger.frozen", "\(frozen.text)")
        // Recovered to a new card by the registrar and the city: the balance moves; the new card
        // pays; the day's spending followed it, so the ledger stops it at the day's cap.
        let issued = try await registrarClient.issue(pin: "24681357")
        let newCard = try issued.decode(CardServiceMessages.CardView.self)
        let newAccount = try Address(parsing: newCard.account).publicKey
        let recovered = try await Self.submit(network, Self.registrar, .recover(Recover(from: account, to: newAccount)), cosigners: [Self.city])
        #expect(Self.committed(recovered), "\(recovered.text)")
        let moved = try await Self.value(network, newAccount)
        #expect(moved.role == "card" && moved.total == 20_300 - 14_000, "\(moved)")
        #expect(try await Self.value(network, account).total == 0)
        #expect(try await terminal.pay(.new(cardId: newCard.cardId, amountYen: 1_000, pin: "24681357", time: terminal.clock())).statusCode == 200)
        let overDay = try await terminal.pay(.new(cardId: newCard.cardId, amountYen: 1_000, pin: "24681357", time: terminal.clock()))
        #expect(overDay.statusCode == 422 && overDay.problemCode == "ledger.card_daily_cap_exceeded", "the ledger, not the custodian's own count, refuses: \(overDay.text)")
        // The command line: the registrar issues and registers a card (`kizuna card issue`); a
        // terminal pays with the scanned QR text (`kizuna card pay`), the PIN from a file.
        let cli = network.folder.appendingPathComponent("cli")
        try FileManager.default.createDirectory(at: cli, withIntermediateDirectories: true)
        let (registrarFile, shopFile, pinFile) = (cli.appendingPathComponent("registrar.json").path, cli.appendingPathComponent("shop.json").path, cli.appendingPathComponent("pin").path)
        try KeyFile(key: Self.registrar).write(path: registrarFile)
        try KeyFile(key: shop).write(path: shopFile)
        try Data("13572468\n".utf8).write(to: URL(fileURLWithPath: pinFile))
        let nodeURL = "http://127.0.0.1:\(network.apiPorts["city"]!)"
        let issuedByCLI = try NetworkProcessTests.runCLI(["card", "issue", "--service", custodian.url.absoluteString, "--node", nodeURL, "--key", registrarFile,
                                                          "--pin-file", pinFile, "--resident-id", "nagai-0003", "--salt", "0909"], environment: network.environment)
        #expect(issuedByCLI.status == 0, "\(issuedByCLI.output)")
        let words = issuedByCLI.output.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init)
        let qrText = try #require(words.first { $0.hasPrefix(CardId.scheme) }, "\(issuedByCLI.output)")
        let cliAccount = try Address(parsing: try #require(words.first { $0.hasPrefix("kz1") })).publicKey
        #expect(try await Self.value(network, cliAccount).role == "card")
        #expect(Self.committed(try await Self.submit(network, Self.coinIssuer, .charge(Charge(to: cliAccount, amount: 1_000, channel: .app, receiptId: "cli-card")))))
        let paidByCLI = try NetworkProcessTests.runCLI(["card", "pay", "--service", custodian.url.absoluteString, "--node", nodeURL, "--key", shopFile,
                                                        "--pin-file", pinFile, "--card", qrText, "--amount", "250"], environment: network.environment)
        #expect(paidByCLI.status == 0 && paidByCLI.output.contains("committed"), "\(paidByCLI.output)")
        let refusedByCLI = try NetworkProcessTests.runCLI(["card", "pay", "--service", custodian.url.absoluteString, "--node", nodeURL, "--key", shopFile,
                                                           "--pin-file", pinFile, "--card", qrText, "--amount", "10001"], environment: network.environment)
        #expect(refusedByCLI.status == 1 && refusedByCLI.output.contains("ledger.card_payment_cap_exceeded"), "\(refusedByCLI.output)")
        #expect(!custodian.log.contains("43215678") && !custodian.log.contains("98761234") && !custodian.log.contains("24681357") && !custodian.log.contains("13572468"), "the service never logs a PIN")
        print("card lifecycle: card \(cardId) recovered to \(newCard.cardId); the custodian's log has \(custodian.log.split(separator: "\n").count) lines")
    }

    @Test("killing the custodian at random instants while two terminals pay loses no acknowledged payment and pays none twice")
    func custodianKills() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "card-kills", cardPolicy: CardPolicy(holderCapYen: 100_000, perPaymentCapYen: 10_000, perDayCapYen: 100_000))
        defer { network.removeAll() }
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        let custodian = try Custodian(network: network, commitWaitMilliseconds: 5_000, requestMaxAgeMilliseconds: 600_000)
        defer { custodian.kill() }
        #expect(try await custodian.start(), "the custodian did not start: \(custodian.log)")
        let chainId = network.genesis.chainId
        let merchants = [PrivateKey(), PrivateKey()]
        let (cardId, account) = try await Self.setUp(network, custodian, merchants: merchants, pin: "1357", charge: 50_000, residentId: "nagai-0002")
        let before = try await Self.value(network, account)

        let paymentsPerTerminal = 10
        let acknowledged = AcknowledgedPayments()
        let terminals = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, merchant) in merchants.enumerated() {
                    group.addTask {
                        let client = custodian.client(merchant, chainId: chainId)
                        for number in 0..<paymentsPerTerminal {
                            let request = CardServiceMessages.PaymentRequest.new(cardId: cardId, amountYen: UInt64(100 * (index + 1) + number), pin: "1357", time: client.clock())
                            // A terminal repeats the same request until it gets a final answer.
                            for _ in 0..<1_200 {
                                guard let reply = try? await client.pay(request) else {
                                    try? await Task.sleep(nanoseconds: 100_000_000)
                                    continue
                                }
                                if reply.statusCode == 200, let outcome = try? reply.decode(CardServiceMessages.PaymentOutcome.self) {
                                    await acknowledged.add(merchant: index, amount: request.amountYen, transaction: outcome.transactionId)
                                    break
                                }
                                if reply.statusCode < 500 {
                                    await acknowledged.refuse("\(reply.statusCode) \(reply.text)")
                                    break
                                }
                                try? await Task.sleep(nanoseconds: 100_000_000)
                            }
                        }
                    }
                }
            }
        }
        // The killer: SIGKILL at a random instant (50 ms – 1.5 s after the last start), restart.
        var kills = 0
        var generator = SystemRandomNumberGenerator()
        while await acknowledged.count < 2 * paymentsPerTerminal, await acknowledged.refusals.isEmpty, kills < 40 {
            try await Task.sleep(nanoseconds: UInt64.random(in: 50_000_000...1_500_000_000, using: &generator))
            custodian.kill()
            kills += 1
            #expect(try await custodian.start(), "the custodian did not restart after kill \(kills): \(custodian.log)")
        }
        await terminals.value
        let refusals = await acknowledged.refusals
        #expect(refusals.isEmpty, "terminal requests ended refused: \(refusals)")
        let entries = await acknowledged.entries
        #expect(entries.count == 2 * paymentsPerTerminal, "every payment acknowledged (\(entries.count)) after \(kills) kills")
        #expect(Set(entries.map(\.transaction)).count == entries.count, "each acknowledgement a distinct payment")

        // Every acknowledged payment is committed; nothing else left the card.
        for entry in entries {
            let status = try await network.client("operator").transaction(try #require(Hash(hex: entry.transaction)))
            #expect(status.json?["status"] as? String == "committed", "acknowledged payment \(entry.transaction) is not committed: \(status.text)")
        }
        let total = entries.reduce(UInt64(0)) { $0 + $1.amount }
        let after = try await Self.value(network, account)
        #expect(before.total - after.total == total, "the card paid exactly the acknowledged ¥\(total)")
        #expect(after.nonce == entries.count, "one committed transaction per acknowledged payment: nonce \(String(describing: after.nonce)), \(entries.count) payments")
        for (index, merchant) in merchants.enumerated() {
            let received = entries.filter { $0.merchant == index }.reduce(UInt64(0)) { $0 + $1.amount }
            #expect(try await Self.value(network, merchant.publicKey).total == received)
        }
        print("custodian kills: \(kills) SIGKILLs, \(entries.count) payments acknowledged (¥\(total)); the card paid ¥\(before.total - after.total) in \(after.nonce ?? -1) transactions")
    }
}

/// What the terminals were told.
actor AcknowledgedPayments {
    struct Entry { var merchant: Int; var amount: UInt64; var transaction: String }
    private(set) var entries: [Entry] = []
    private(set) var refusals: [String] = []
    var count: Int { entries.count }
    func add(merchant: Int, amount: UInt64, transaction: String) { entries.append(Entry(merchant: merchant, amount: amount, transaction: transaction)) }
    func refuse(_ text: String) { refusals.append(text) }
}
