import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import KizunaCore
import KizunaWallet
import KizunaNode
import KizunaNetwork

/// `kizuna bench card` (issue 19): card payments through the custodian (`kizuna card-service`)
/// on the four-validator network, all as child processes on 127.0.0.1.
///
/// 1. The machine: Ed25519 verifications per second on one and all cores.
/// 2. Latency: one terminal pays with one card, one payment after another; each payment's
///    time from the terminal's request to the custodian's answer — which comes only once the
///    payment is committed — is the submit→commit latency of a card payment (PIN check,
///    signing, admission, consensus, commit).
/// 3. Throughput: `terminals` terminals pay at once, each with its own cards (a card's payments
///    are serialized by the custodian, different cards run side by side), for `seconds`:
///    committed payments per second, PIN hash included.
/// 4. The custodian's own PIN-check time, from its metrics (`kizuna_card_pin_check_seconds`).
public enum CardBenchmark {
    public struct Options: Sendable {
        public var executable: String
        public var folder: String
        public var cards = 48
        public var terminals = 16
        public var latencyPayments = 30
        public var seconds = 20.0
        /// The PIN hash's scrypt cost (the service's default is 14).
        public var pinScryptLogN = 14

        public init(executable: String, folder: String) {
            self.executable = executable
            self.folder = folder
        }

        /// A few seconds of each part (CI; fits a debug build).
        public static func quick(executable: String, folder: String) -> Options {
            var options = Options(executable: executable, folder: folder)
            (options.cards, options.terminals, options.latencyPayments, options.seconds) = (4, 2, 3, 3)
            return options
        }
    }

    public struct Result: Sendable, Codable {
        public var cores: Int
        public var ed25519VerifyPerSecondOneCore: Double
        public var ed25519VerifyPerSecondAllCores: Double
        public var pinScryptLogN: Int
        public var pinCheckMillisecondsMean: Double
        public var latencyPayments: Int
        public var latencyMilliseconds: [String: Double]
        public var terminals: Int
        public var cards: Int
        public var throughputPayments: Int
        public var throughputSeconds: Double
        public var paymentsPerSecond: Double
        public var refusals: [String: Int]
    }

    static let registrar = DevelopmentKeys.privateKey("registrar")
    static let coinIssuer = DevelopmentKeys.privateKey("coin-issuer")
    static let pin = "2580"

    public static func run(_ options: Options, progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        progress("measuring the machine: Ed25519 verifications on \(cores) core(s)")
        let (verifyOne, verifyAll) = SingleNodeBenchmark.measureEd25519Verify(cores: cores)
        progress(String(format: "ed25519 verify %.0f/s on one core, %.0f/s on %d cores", verifyOne, verifyAll, cores))

        let policy = CardPolicy(holderCapYen: 100_000, perPaymentCapYen: 10_000, perDayCapYen: 100_000)
        let network = try BenchNetworkProcesses(folder: options.folder, executable: options.executable, cardPolicy: policy)
        defer { network.stopAll() }
        for name in BenchNetworkProcesses.validatorNames { _ = try network.start(name) }
        let node = NodeClient(baseURL: URL(string: "http://127.0.0.1:\(network.nodes["city"]!.apiPort)")!)
        try await waitUntil("the nodes' API") { (try? await node.status())?.isSuccess == true }

        // The custodian, reading the node with the bench network's member credential.
        let serviceFolder = network.folder + "/card-service"
        try FileManager.default.createDirectory(atPath: serviceFolder, withIntermediateDirectories: true)
        var taken: Set<Int> = Set(network.nodes.values.flatMap { [$0.apiPort, $0.peerPort] })
        let (servicePort, metricsPort) = (try LocalPorts.freePort(avoiding: &taken), try LocalPorts.freePort(avoiding: &taken))
        try Data("bench vault passphrase\n".utf8).write(to: URL(fileURLWithPath: serviceFolder + "/vault.pass"))
        try Data("\(BenchNetworkProcesses.memberToken)\n".utf8).write(to: URL(fileURLWithPath: serviceFolder + "/member.token"))
        let configuration = """
        genesisFile = "../genesis.json"
        dataDirectory = "data"
        keyPassphraseFile = "vault.pass"
        logLevel = "notice"
        [api]
        port = \(servicePort)
        [node]
        url = "http://127.0.0.1:\(network.nodes["city"]!.apiPort)"
        tokenFile = "member.token"
        [pin]
        scryptLogN = \(options.pinScryptLogN)
        [metrics]
        listen = "127.0.0.1:\(metricsPort)"
        """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: serviceFolder + "/card-service.toml"))
        _ = try network.spawn("card-service", arguments: [network.executable, "card-service", "--config", serviceFolder + "/card-service.toml"], log: serviceFolder + "/service.log")
        let serviceURL = URL(string: "http://127.0.0.1:\(servicePort)")!
        try await waitUntil("the card service") {
            (try? await URLSession.shared.data(from: serviceURL.appendingPathComponent("health")).1 as? HTTPURLResponse)?.statusCode == 200
        }

        // Merchants (one per terminal), cards (issued at the custodian, registered, charged).
        let chainId = network.genesis.chainId
        progress("issuing and charging \(options.cards) cards, registering \(options.terminals) merchants")
        let merchants = (0..<options.terminals).map { _ in PrivateKey() }
        let registrarCards = CardServiceClient(baseURL: serviceURL, chainId: chainId, key: registrar)
        var cards: [CardId] = []
        for _ in 0..<options.cards {
            let reply = try await registrarCards.issue(pin: pin)
            guard reply.statusCode == 201, let card = try? reply.decode(CardServiceMessages.CardView.self) else { throw BenchError("issuing a card failed: \(reply.text)") }
            cards.append(card.cardId)
            let account = try Address(parsing: card.account).publicKey
            try await submit(node, registrar, .register(Register(account: account, role: .card, residentIdHash: Hash.sha256(card.cardId.bytes))), chainId: chainId)
            try await submit(node, coinIssuer, .charge(Charge(to: account, amount: 100_000, channel: .app, receiptId: "bench-\(card.cardId)")), chainId: chainId)
        }
        for (index, merchant) in merchants.enumerated() {
            try await submit(node, registrar, .register(Register(account: merchant.publicKey, role: .merchant, merchantCategory: "shop-\(index % 4)")), chainId: chainId)
        }

        // Latency: one terminal, one card, one payment after another.
        progress("latency: \(options.latencyPayments) card payments one after another")
        let terminal = CardServiceClient(baseURL: serviceURL, chainId: chainId, key: merchants[0])
        var latencies: [Double] = []
        for number in 0..<options.latencyPayments {
            let started = ContinuousClock.now
            let reply = try await terminal.pay(.new(cardId: cards[0], amountYen: UInt64(100 + number), pin: pin, time: terminal.clock()))
            guard reply.statusCode == 200 else { throw BenchError("a latency payment was refused: \(reply.text)") }
            latencies.append(milliseconds(ContinuousClock.now - started))
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)] }
        let latency = ["p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": latencies.last ?? 0, "mean": latencies.reduce(0, +) / Double(max(1, latencies.count))]
        progress(String(format: "latency request→committed answer: p50 %.0f ms, p90 %.0f ms, max %.0f ms", latency["p50"]!, latency["p90"]!, latency["max"]!))

        // Throughput: every terminal pays with its own cards, as fast as answers come.
        progress("throughput: \(options.terminals) terminals, \(options.cards) cards, \(options.seconds) s")
        let tally = BenchCardTally()
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(options.seconds * 1000))
        await withTaskGroup(of: Void.self) { group in
            for (index, merchant) in merchants.enumerated() {
                let own = cards.enumerated().filter { $0.offset % merchants.count == index }.map(\.element)
                guard !own.isEmpty else { continue }
                group.addTask {
                    let client = CardServiceClient(baseURL: serviceURL, chainId: chainId, key: merchant)
                    var number = 0
                    while ContinuousClock.now < deadline {
                        let card = own[number % own.count]
                        number += 1
                        guard let reply = try? await client.pay(.new(cardId: card, amountYen: 10, pin: pin, time: client.clock())) else {
                            await tally.refuse("transport")
                            continue
                        }
                        if reply.statusCode == 200 { await tally.commit() } else { await tally.refuse(reply.problemCode ?? "HTTP \(reply.statusCode)") }
                    }
                }
            }
        }
        let elapsed = milliseconds(ContinuousClock.now - started) / 1000
        let committed = await tally.committed
        let refusals = await tally.refusals
        progress(String(format: "throughput: %d payments committed in %.1f s: %.1f payments/s (refusals %@)", committed, elapsed, Double(committed) / elapsed, "\(refusals)"))

        // The custodian's PIN-check time, from its own histogram.
        var pinMean = 0.0
        if let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!) {
            let text = String(decoding: data, as: UTF8.self)
            func value(_ name: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            if let sum = value("kizuna_card_pin_check_seconds_sum"), let count = value("kizuna_card_pin_check_seconds_count"), count > 0 { pinMean = sum / count * 1000 }
        }
        progress(String(format: "PIN check (scrypt logN %d): %.1f ms mean inside the custodian", options.pinScryptLogN, pinMean))
        return Result(cores: cores, ed25519VerifyPerSecondOneCore: verifyOne, ed25519VerifyPerSecondAllCores: verifyAll, pinScryptLogN: options.pinScryptLogN,
                      pinCheckMillisecondsMean: pinMean, latencyPayments: latencies.count, latencyMilliseconds: latency, terminals: options.terminals,
                      cards: options.cards, throughputPayments: committed, throughputSeconds: elapsed, paymentsPerSecond: Double(committed) / elapsed, refusals: refusals)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Submits and waits for the commit; throws unless committed.
    static func submit(_ node: NodeClient, _ key: PrivateKey, _ body: TransactionBody, chainId: String) async throws {
        let nonce = try await node.authenticated(.signed(RequestSigner(chainId: chainId, key: key))).nextNonce(of: key.publicKey)
        var builder = TransactionBuilder(chainId: chainId, key: key, nextNonce: nonce)
        let reply = try await node.submit(builder.sign(body), waitForCommit: true)
        guard reply.statusCode == 200, reply.json?["status"] as? String == "committed" else { throw BenchError("set-up transaction \(body.kind) not committed: \(reply.text)") }
    }

    /// Polls `condition` every 100 ms, at most two minutes.
    static func waitUntil(_ what: String, _ condition: () async -> Bool) async throws {
        for _ in 0..<1_200 {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw BenchError("\(what) did not answer within two minutes")
    }
}

actor BenchCardTally {
    private(set) var committed = 0
    private(set) var refusals: [String: Int] = [:]
    func commit() { committed += 1 }
    func refuse(_ code: String) { refusals[code, default: 0] += 1 }
}
