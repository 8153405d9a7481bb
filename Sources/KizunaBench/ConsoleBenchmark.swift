import KizunaCore
import KizunaChain
import KizunaNode
import KizunaAPI
import KizunaConsole
import KizunaRocksDB
import Hummingbird
import Logging
import NIOCore
import Foundation
import Dispatch

/// Measures the console's server time per page (issue 17, docs/console.md) on a chain shaped
/// like a city's: merchants in eight categories, residents with opt-in district and age
/// band, the city's point, thanks and dining-rebate programs, then rounds in which every
/// resident pays a merchant, with top-up charges, point grants and merchants redeeming,
/// spread over `days` of chain time so that the Money page has 30 closed days of aggregates.
///
/// The chain is built once through a real single-validator node (`BenchChainWriter`) and kept
/// in the folder. The measurement serves it as a node does — the API's router with the
/// console's routes, Hummingbird on 127.0.0.1 — from a `Node` that only reads (no producer),
/// signs in with a member's token as a browser would, and requests every page in turn. Each
/// answer carries the server's own time in `Server-Timing`; the client's time (over loopback)
/// is reported beside it.
public struct ConsoleBenchmark: Sendable {
    public var transactions: Int
    public var residents: Int
    public var merchants: Int
    public var days: Int
    public var blockTransactionsMax: Int
    public var folder: String
    public var fresh: Bool
    /// Timed requests per page (after `warmUp` untimed ones).
    public var requests: Int
    public var warmUp = 3

    public init(transactions: Int, residents: Int, merchants: Int, days: Int, blockTransactionsMax: Int, folder: String, fresh: Bool, requests: Int) {
        self.transactions = transactions
        self.residents = residents
        self.merchants = merchants
        self.days = days
        self.blockTransactionsMax = blockTransactionsMax
        self.folder = folder
        self.fresh = fresh
        self.requests = requests
    }

    public struct ChainInfo: BenchChainInfo {
        public var genesisHash: String
        public var requestedTransactions: Int
        public var residents: Int
        public var merchants: Int
        public var days: Int
        public var blockTransactionsMax: Int
        public var blocks: UInt64
        public var transactions: Int
        public var setupSeconds: Double

        static func spec(transactions: Int, residents: Int, merchants: Int, days: Int, blockTransactionsMax: Int) -> String {
            "a city chain of \(transactions) transactions, \(residents) residents, \(merchants) merchants over \(days) days, blocks of ≤\(blockTransactionsMax)"
        }

        public var spec: String { Self.spec(transactions: requestedTransactions, residents: residents, merchants: merchants, days: days, blockTransactionsMax: blockTransactionsMax) }
    }

    /// One page's figures, in milliseconds.
    public struct PageTiming: Codable, Sendable {
        public var page: String
        public var path: String
        public var bytes: Int
        public var serverP50: Double
        public var serverP99: Double
        public var serverMax: Double
        public var clientP50: Double
        public var clientP99: Double
    }

    public struct Result: Codable, Sendable {
        public var cores: Int
        public var chain: ChainInfo
        public var chainReused: Bool
        public var requestsPerPage: Int
        /// The first page served after start: the console's summaries are built (the last
        /// hour of blocks, supply and programs from the state).
        public var firstPageServerMilliseconds: Double
        /// The first Money page: the aggregates of the last 30 closed days are computed from
        /// the blocks (once per closed day; the node's console service does it in the
        /// background, not on a visitor's request).
        public var firstMoneyPageServerMilliseconds: Double
        public var pages: [PageTiming]
        /// The slowest page's p99 (server time).
        public var worstServerP99: Double
    }

    static let memberToken = "bench-console-member-token"

    public func run(progress: (String) -> Void) async throws -> Result {
        let chainFolder = BenchChainFolder(path: folder)
        let spec = ChainInfo.spec(transactions: transactions, residents: residents, merchants: merchants, days: days, blockTransactionsMax: blockTransactionsMax)
        let (info, reused) = try await chainFolder.chain(spec: spec, fresh: fresh, progress: progress) { try await buildChain(progress: progress) }
        return try await measure(info: info, reused: reused, progress: progress)
    }

    // MARK: - The chain

    /// Builds the city chain through a single-validator node, compacts it, writes the info.
    func buildChain(progress: (String) -> Void) async throws -> ChainInfo {
        let minimum = 2 * residents + merchants + 3
        // Every merchant is paid in every round (so each can redeem): no more merchants than residents.
        guard residents >= 2, (1...residents).contains(merchants), days >= 2, transactions >= minimum + residents else {
            throw BenchChainError(message: "--transactions \(transactions) is too small: the set-up alone is \(minimum) for \(residents) residents and \(merchants) merchants, every resident should pay at least once, and there are at most as many merchants as residents")
        }
        let chainFolder = BenchChainFolder(path: folder)
        let validatorKey = PrivateKey()
        let developmentAuthority = { (name: String) in DevelopmentKeys.privateKey(name).publicKey }
        let genesis = try chainFolder.prepare(Genesis(
            chainId: "local-bench-console", genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: [Validator(name: "bench", organisation: "benchmark", publicKey: validatorKey.publicKey, votingPower: 1)],
            authorities: Authorities(coinIssuer: developmentAuthority("coin-issuer"), registrar: developmentAuthority("registrar"), city: developmentAuthority("city"), auditor: developmentAuthority("auditor")),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
        ), validatorKey: validatorKey)
        let store = try RocksDBStore(path: chainFolder.chainPath)
        defer { store.close() }
        // Blocks fill up (every batch is a whole round), so the chain has about this many.
        let expectedBlocks = UInt64(max(1, transactions / blockTransactionsMax))
        let writer = try BenchChainWriter(
            store: store, genesis: genesis, validatorKey: validatorKey, blockTransactionsMax: blockTransactionsMax,
            pendingMax: 3 * residents + merchants, pendingPerAccountMax: 2 * residents + merchants + 2,
            blockStepMilliseconds: UInt64(days) * 86_400_000 / expectedBlocks, expectedTransactions: transactions, label: "kizuna.bench.console"
        )
        let workload = CityWorkload(genesis: genesis, residents: residents, merchants: merchants)
        for phase in [workload.base.createPrograms(), workload.base.registrations(), workload.base.funding()] {
            try await writer.commit(phase.map(workload.signed), progress: progress, forceLine: true)
        }
        progress("set up \(residents) residents, \(merchants) merchants and the city's programs")
        var round = 0
        while writer.committed < transactions {
            let remaining = transactions - writer.committed
            let bodies = workload.round(round).prefix(remaining)
            try await writer.commit(bodies.map(workload.signed), progress: progress)
            round += 1
        }
        let tip = try writer.blocks.tipHeight()
        guard writer.committed == transactions else {
            throw BenchChainError(message: "\(writer.committed) of \(transactions) transactions committed; the node rejected some")
        }
        progress(String(format: "chain: %d transactions in %llu blocks (%d rounds) in %.0f s; compacting", writer.committed, tip, round, writer.elapsedSeconds))
        store.compact()
        let info = ChainInfo(genesisHash: genesis.hash.hex, requestedTransactions: transactions, residents: residents, merchants: merchants, days: days,
                             blockTransactionsMax: blockTransactionsMax, blocks: tip, transactions: writer.committed, setupSeconds: writer.elapsedSeconds)
        try chainFolder.write(info)
        return info
    }

    // MARK: - The measurement

    func measure(info: ChainInfo, reused: Bool, progress: (String) -> Void) async throws -> Result {
        let chainFolder = BenchChainFolder(path: folder)
        let genesis = try Genesis.load(path: chainFolder.genesisPath)
        let store = try RocksDBStore(path: chainFolder.chainPath)
        defer { store.close() }
        let blocks = try BlockStore(store: store, genesis: genesis)
        let (node, logger) = try benchObserverNode(
            genesis: genesis, blocks: blocks, credential: "bench member", role: .member, token: Self.memberToken, label: "kizuna.bench.console"
        )
        let console = try Console(node: node, logger: logger)
        let (port, server) = try await serveBenchRouter(APIServer.router(node: node, logger: logger, addRoutes: { console.addRoutes(to: $0) }), serverName: "kizuna-bench-console", logger: logger)
        defer { server.cancel() }
        progress("serving the chain (\(info.blocks) blocks, \(info.transactions) transactions) at http://127.0.0.1:\(port)/console")

        let group = makeBenchClientEventLoopGroup()
        let connection = try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port, group: group)
        let client = ConsoleClient(connection: connection)
        let timings = try await measurePages(client: client, blocks: blocks, progress: progress)
        connection.close()
        try? await group.shutdownGracefully()
        return Result(
            cores: ProcessInfo.processInfo.activeProcessorCount, chain: info, chainReused: reused, requestsPerPage: requests,
            firstPageServerMilliseconds: timings.first.serverMilliseconds, firstMoneyPageServerMilliseconds: timings.firstMoney.serverMilliseconds,
            pages: timings.pages, worstServerP99: timings.pages.map(\.serverP99).max() ?? 0
        )
    }

    /// The first pages after start, then every page `requests` times.
    private func measurePages(client: ConsoleClient, blocks: BlockStore, progress: (String) -> Void) async throws -> (first: ConsoleClient.Answer, firstMoney: ConsoleClient.Answer, pages: [PageTiming]) {

        // The first pages build the summaries; the first Money page computes 30 closed days of
        // aggregates from the blocks (a node's console service does it in the background).
        let first = try await client.get("/console/network", expect: "<svg", timeoutSeconds: 1800)
        let firstMoney = try await client.get("/console/money", expect: "<svg", timeoutSeconds: 1800)
        progress(String(format: "first page after start: %.1f ms (summaries built); first Money page: %.1f ms (30 closed days of aggregates)", first.serverMilliseconds, firstMoney.serverMilliseconds))
        try await client.signIn(token: Self.memberToken)

        // Pages that name something on the chain: the tip block, one of its transactions,
        // its signer (a resident) and a merchant it paid.
        let tip = try blocks.tipHeight()
        let tipBlock: Block = try blocks.block(at: tip)
        guard let sample = tipBlock.transactions.first(where: { if case .pay = $0.transaction.body { true } else { false } }),
              case .pay(let payment) = sample.transaction.body else {
            throw BenchChainError(message: "the tip block holds no payment to sample")
        }
        let resident = sample.transaction.signer.address.description
        let merchant = payment.merchant.address.description
        let pages: [(String, String, String)] = [
            ("network", "/console/network", "<svg"),
            ("money", "/console/money", "<svg"),
            ("programs", "/console/programs", "<svg"),
            ("statutory", "/console/statutory", "id=\"report\""),
            ("settlements (list)", "/console/settlements", "kz1"),
            ("settlements (one merchant)", "/console/settlements?merchant=\(merchant)", "kz1"),
            ("explorer (latest blocks)", "/console/explorer", "\(tip)"),
            ("block (\(tipBlock.transactions.count) transactions)", "/console/explorer/block/\(tip)", sample.id.hex),
            ("transaction", "/console/explorer/transaction/\(sample.id.hex)", sample.id.hex),
            ("account (resident)", "/console/explorer/account/\(resident)", resident),
            ("account (merchant)", "/console/explorer/account/\(merchant)", merchant),
            ("search (by hash)", "/console/explorer/search?q=\(sample.id.hex)", sample.id.hex),
        ]
        var timings: [PageTiming] = []
        for (name, path, marker) in pages {
            for _ in 0..<warmUp { _ = try await client.get(path, expect: marker) }
            var server: [Double] = []
            var clientSide: [Double] = []
            var bytes = 0
            for _ in 0..<requests {
                let answer = try await client.get(path, expect: marker)
                server.append(answer.serverMilliseconds)
                clientSide.append(answer.clientMilliseconds)
                bytes = answer.bytes
            }
            server.sort()
            clientSide.sort()
            let timing = PageTiming(page: name, path: path, bytes: bytes, serverP50: Self.percentile(server, 0.5), serverP99: Self.percentile(server, 0.99),
                                    serverMax: server.last ?? 0, clientP50: Self.percentile(clientSide, 0.5), clientP99: Self.percentile(clientSide, 0.99))
            progress(String(format: "%@: server p50 %.2f ms, p99 %.2f ms (client p50 %.2f, p99 %.2f; %d bytes)", name, timing.serverP50, timing.serverP99, timing.clientP50, timing.clientP99, bytes))
            timings.append(timing)
        }
        return (first, firstMoney, timings)
    }

    /// The nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}

/// A browser's part, over one keep-alive connection: the session cookie after sign-in.
final class ConsoleClient {
    struct Answer {
        var serverMilliseconds: Double
        var clientMilliseconds: Double
        var bytes: Int
    }

    let connection: BenchHTTPConnection
    var cookies: [String: String] = [:]

    init(connection: BenchHTTPConnection) { self.connection = connection }

    func request(_ method: String, _ path: String, form: String? = nil, timeoutSeconds: Int64 = 30) async throws -> (BenchHTTPConnection.Response, Double) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if !cookies.isEmpty { head += "Cookie: " + cookies.keys.sorted().map { "\($0)=\(cookies[$0]!)" }.joined(separator: "; ") + "\r\n" }
        if let form { head += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n" }
        let started = DispatchTime.now()
        let response = try await connection.request(ByteBuffer(string: head + "\r\n" + (form ?? "")), timeoutSeconds: timeoutSeconds)
        let clientMilliseconds = SingleNodeBenchmark.seconds(since: started) * 1000
        for line in response.setCookies {
            let pair = line.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if line.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
        }
        return (response, clientMilliseconds)
    }

    /// A page that must load (200) and contain `marker` — never an error page measured as a page.
    func get(_ path: String, expect marker: String, timeoutSeconds: Int64 = 30) async throws -> Answer {
        let (response, clientMilliseconds) = try await request("GET", path, timeoutSeconds: timeoutSeconds)
        let body = String(buffer: response.body)
        guard response.status == 200, body.contains(marker) else {
            throw BenchChainError(message: "GET \(path) answered \(response.status) without '\(marker)': \(body.prefix(300))")
        }
        guard let timing = response.serverTiming, let equals = timing.range(of: "dur="), let server = Double(timing[equals.upperBound...]) else {
            throw BenchChainError(message: "GET \(path) carried no Server-Timing duration")
        }
        return Answer(serverMilliseconds: server, clientMilliseconds: clientMilliseconds, bytes: response.body.readableBytes)
    }

    /// Signs in as a browser does: the sign-in page's anti-forgery cookie, then the form.
    func signIn(token: String) async throws {
        _ = try await get("/console/signin", expect: "csrf")
        guard let csrf = cookies["kizuna_signin"] else { throw BenchChainError(message: "the sign-in page set no anti-forgery cookie") }
        let (response, _) = try await request("POST", "/console/signin", form: "csrf=\(csrf)&token=\(token)&next=%2Fconsole%2Fexplorer")
        guard response.status == 303, cookies["kizuna_session"] != nil else {
            throw BenchChainError(message: "sign-in answered \(response.status) without a session: \(String(buffer: response.body).prefix(300))")
        }
    }
}

/// The city's transactions: the network benchmark's set-up (programs, registrations with
/// opt-in attributes, first charges and thanks allowances), then rounds of payments.
final class CityWorkload {
    let base: BenchWorkload
    let chainId: String

    init(genesis: Genesis, residents: Int, merchants: Int) {
        base = BenchWorkload(genesis: genesis, residents: residents, merchants: merchants, nodeCount: 1, seed: 17)
        chainId = genesis.chainId
    }

    /// The signer's next transaction with this body.
    func signed(_ item: (Int, TransactionBody)) -> (KizunaCore.Transaction, PrivateKey) {
        let (index, body) = item
        let nonce = base.signers[index].nextNonce
        base.signers[index].nextNonce += 1
        return (KizunaCore.Transaction(chainId: chainId, signer: base.signers[index].key.publicKey, nonce: nonce, body: body), base.signers[index].key)
    }

    /// Round `r`: every resident pays a merchant ¥100 × (1 + r mod 10); every tenth round
    /// the coin issuer tops every resident up by ¥5,500 (what ten rounds spend) and every
    /// merchant redeems; every twentieth, the city grants 100 points. A resident starts with
    /// ¥40,000 and spends points first, so no payment can fail whatever the order within a
    /// block, and no balance nears a holder cap.
    func round(_ r: Int) -> [(Int, TransactionBody)] {
        var bodies: [(Int, TransactionBody)] = []
        let merchants = Array(base.merchants)
        for (offset, index) in base.residents.enumerated() {
            let merchant = merchants[(offset &+ r &* 13) % merchants.count]
            bodies.append((index, .pay(Pay(merchant: base.signers[merchant].key.publicKey, amount: UInt64(100 * (1 + r % 10))))))
        }
        if r % 10 == 9 {
            for index in base.residents {
                bodies.append((BenchWorkload.issuerIndex, .charge(Charge(to: base.signers[index].key.publicKey, amount: 5_500, channel: .chargeMachine, receiptId: base.nextReceipt()))))
            }
            for index in merchants {
                bodies.append((index, .redeem(Redeem(reference: "bench-\(r)-\(index)"))))
            }
        }
        if r % 20 == 4 {
            for index in base.residents {
                bodies.append((BenchWorkload.cityIndex, .grant(Grant(program: BenchWorkload.pointProgram, to: base.signers[index].key.publicKey, amount: 100))))
            }
        }
        return bodies
    }
}
