import Foundation
import Logging
import PostgresNIO
import Testing
import KizunaAudit
import KizunaChain
import KizunaCore
import KizunaIndexer
import KizunaLedger
import KizunaStorage
import KizunaWallet

/// Issue 21, must-be-true 2 and 3, on real processes and a real PostgreSQL: four validators
/// under a payment load, `kizuna index` SIGKILLed at random instants and restarted, then the
/// index is compared row by row with a full replay of the chain and its aggregates with the
/// node's reports at the same heights; and the BI role, with its real grants, can read no
/// account address and no group below the suppression threshold.
@Suite("The PostgreSQL indexer as a real process", .serialized)
struct IndexerProcessTests {
    static let residentsCount = 22
    static let logger = Logger(label: "kizuna.test.indexer")

    /// Submits transactions one after another without waiting, then waits for the last.
    static func submitAll(_ client: NodeClient, _ transactions: [SignedTransaction]) async throws {
        for (index, transaction) in transactions.enumerated() {
            let reply = try await client.submit(transaction, waitForCommit: index == transactions.count - 1)
            #expect(reply.isSuccess, "\(transaction.transaction.body.kind): \(reply.text)")
        }
    }

    @Test func killedIndexerEndsWithTheChainsContentAndTheBIRoleSeesNoPersonalData() async throws {
        guard let postgres = try await TestPostgres.make() else { return }
        let network = try await LocalNetworkProcesses.exclusive(name: "index")
        defer { network.removeAll() }
        // Aggregates are published for closed Japan-time days only: the nodes' clocks are set
        // 90 s before a Japan-time midnight, so the load runs across it and the first day closes
        // (the development clock shift, local chains only; docs/operations.md).
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let midnight = (UInt64((Int64(now / 1000) + CivilTime.japanOffsetSeconds) / 86_400 + 1) * 86_400 - UInt64(CivilTime.japanOffsetSeconds)) * 1000
        let shifted = midnight - 90_000
        network.environment["KIZUNA_DEV_CLOCK_OFFSET_MS"] = String(Int64(shifted) - Int64(now))
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        let city = network.client("city")
        let chainId = network.genesis.chainId

        // Accounts with opt-in attributes, in three districts (below).
        let residents = (0..<Self.residentsCount).map { _ in PrivateKey() }
        let merchants = [PrivateKey(), PrivateKey()]
        let categories = ["restaurant", "farm"]
        var registrar = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.coinIssuer, nextNonce: 0)
        var cityWallet = TransactionBuilder(chainId: chainId, key: DevelopmentKeys.privateKey("city"), nextNonce: 0)
        var setup: [SignedTransaction] = []
        for (index, merchant) in merchants.enumerated() {
            setup.append(registrar.register(merchant.publicKey, role: .merchant, merchantCategory: categories[index]))
        }
        for (index, resident) in residents.enumerated() {
            // Districts of 1, 10 and 11 residents: the one is suppressed, and so (complementary
            // suppression: the day's total minus the visible cells would reveal it) is the ten;
            // the eleven is published.
            let district = index == 0 ? "higashiyama" : index <= 10 ? "kita" : "tsuruga"
            setup.append(registrar.register(resident.publicKey, role: .resident, district: district, ageBand: UInt8(2 + index % 3)))
        }
        try await Self.submitAll(city, setup)
        try await Self.submitAll(city, residents.enumerated().map { index, resident in issuer.charge(to: resident.publicKey, amount: 50_000, receiptId: "index-\(index)") })
        try await Self.submitAll(city, [cityWallet.createProgram(CreateProgram(asset: .point, name: "green points", funder: DevelopmentKeys.privateKey("city").publicKey, budgetYen: 1_000_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 50_000))])
        try await Self.submitAll(city, residents.map { cityWallet.grant(program: 1, to: $0.publicKey, amount: 2_000) })

        // The indexer's configuration.
        let folder = network.folder.appendingPathComponent("indexer")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(LocalNetworkProcesses.auditorToken.utf8).write(to: folder.appendingPathComponent("auditor.token"))
        let configPath = folder.appendingPathComponent("indexer.toml").path
        try Data("""
        genesisFile = "../genesis.json"
        logLevel = "info"

        [node]
        url = "http://127.0.0.1:\(network.apiPorts["city"]!)"
        tokenFile = "auditor.token"

        \(postgres.configurationTOML)

        [indexer]
        batchBlocksMax = 4
        pollMilliseconds = 100

        """.utf8).write(to: URL(fileURLWithPath: configPath))

        // The load: every resident pays the merchants in turn; the merchants redeem now and then.
        let stop = StopFlag()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, resident) in residents.enumerated() {
                    group.addTask {
                        var wallet = TransactionBuilder(chainId: chainId, key: resident, nextNonce: 0)
                        var step = 0
                        while !(await stop.isSet) {
                            step += 1
                            let name = LocalNetworkProcesses.validatorNames[(index + step) % 4]
                            let payment = wallet.pay(merchant: merchants[(index + step) % 2].publicKey, amount: UInt64(100 + (index * 37 + step * 11) % 900))
                            if let reply = try? await network.client(name).submit(payment, waitForCommit: true), reply.json?["status"] as? String == "committed" { continue }
                            // Unknown outcome: take the nonce the node has, so the next one is valid.
                            if let nonce = try? await network.client(name).nextNonce(of: resident.publicKey) { wallet.nextNonce = nonce }
                        }
                    }
                }
                // The merchants, in turn each round: the farm bills the restaurant, the restaurant
                // pays part of the bill and pays the farm directly (issue 21), then both redeem.
                group.addTask {
                    var wallets = merchants.map { TransactionBuilder(chainId: chainId, key: $0, nextNonce: 0) }
                    var round = 0
                    func submit(_ index: Int, _ transaction: SignedTransaction) async {
                        if let reply = try? await network.client("city").submit(transaction, waitForCommit: true), reply.json?["status"] as? String == "committed" { return }
                        if let nonce = try? await network.client("city").nextNonce(of: merchants[index].publicKey) { wallets[index].nextNonce = nonce }
                    }
                    while !(await stop.isSet) {
                        try? await Task.sleep(nanoseconds: 1_500_000_000)
                        round += 1
                        let invoice = wallets[1].issueInvoice(payer: merchants[0].publicKey, amount: 500, dueAt: UInt64(Date().timeIntervalSince1970 * 1000) + 86_400_000, reference: "farm-\(round)")
                        await submit(1, invoice)
                        await submit(0, wallets[0].payInvoice(invoice.id, issuer: merchants[1].publicKey, amount: 200))
                        await submit(0, wallets[0].payBusiness(to: merchants[1].publicKey, amount: 100, reference: "order-\(round)"))
                        for index in merchants.indices { await submit(index, wallets[index].redeem(reference: "payout-\(index)-\(round)")) }
                    }
                }
            }
        }

        // The indexer, SIGKILLed at random instants while the load runs, and started again.
        var kills: [(afterMilliseconds: Int, indexedHeight: UInt64)] = []
        var runs = 0
        for _ in 0..<8 {
            runs += 1
            let indexer = try Self.startIndexer(config: configPath, log: folder.appendingPathComponent("index-\(runs).log"))
            let delay = Int.random(in: 200...4_000)
            try await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000)
            #expect(indexer.isRunning, "the indexer exited on its own: \(Self.read(folder.appendingPathComponent("index-\(runs).log")))")
            kill(indexer.processIdentifier, SIGKILL)
            indexer.waitUntilExit()
            kills.append((delay, try await Self.indexedHeight(postgres)))
            print("indexer test: run \(runs) killed after \(delay) ms; its log:\n" + Self.read(folder.appendingPathComponent("index-\(runs).log")))
        }
        // The load goes on until the first day has closed: the node publishes its aggregates.
        var closed = false
        for _ in 0..<600 where !closed {
            if let reply = try? await network.client("city").get("v1/reports/aggregates?from=\(Self.dayText(midnight - 1))&to=\(Self.dayText(midnight - 1))"),
               let days = (reply.json?["aggregates"] as? [String: Any])?["days"] as? [Any], !days.isEmpty {
                closed = true
            } else {
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        #expect(closed, "the day before the shifted midnight never closed")
        await stop.set()
        await load.value

        // The final run, to a height the node has reached: it must end by itself.
        let target = try #require(await network.status("city")).height
        runs += 1
        let final = try Self.startIndexer(config: configPath, log: folder.appendingPathComponent("index-\(runs).log"), arguments: ["--until-height", "\(target)"])
        final.waitUntilExit()
        let finalLog = Self.read(folder.appendingPathComponent("index-\(runs).log"))
        #expect(final.terminationStatus == 0, "the final run failed: \(finalLog)")
        print("indexer test: \(kills.count) SIGKILLs at (ms after start, indexed height) \(kills.map { "(\($0.afterMilliseconds), \($0.indexedHeight))" }.joined(separator: " ")); chain height \(target)")
        #expect(kills.last!.indexedHeight > 0, "the indexer never wrote a batch between kills")

        // The full replay: every block from the node, verified and executed into memory.
        let replica = try Self.replay(network: network, to: target)
        try await Self.compare(postgres: postgres, replica: replica, height: target, merchants: merchants)
        let published = try await Self.compareAggregates(postgres: postgres, network: network, replica: replica, height: target)
        try await Self.checkBIRole(postgres: postgres, accounts: residents.map(\.publicKey) + merchants.map(\.publicKey), expectPublished: published)

        // A database whose tip is not the node's block (another fork), or of another chain:
        // the indexer refuses, with its code, and writes nothing.
        let owner = try await postgres.connect(user: postgres.indexerRole)
        try await owner.query("UPDATE kizuna.indexer_state SET tip_hash = repeat('0', 64)", logger: Self.logger)
        runs += 1
        let forked = try Self.startIndexer(config: configPath, log: folder.appendingPathComponent("index-\(runs).log"), arguments: ["--once"])
        forked.waitUntilExit()
        let forkLog = Self.read(folder.appendingPathComponent("index-\(runs).log"))
        #expect(forked.terminationStatus == 1 && forkLog.contains("indexer.fork: "), "\(forkLog)")
        try await owner.query("UPDATE kizuna.indexer_state SET chain_id = 'another-chain'", logger: Self.logger)
        runs += 1
        let other = try Self.startIndexer(config: configPath, log: folder.appendingPathComponent("index-\(runs).log"), arguments: ["--once"])
        other.waitUntilExit()
        let otherLog = Self.read(folder.appendingPathComponent("index-\(runs).log"))
        #expect(other.terminationStatus == 1 && otherLog.contains("indexer.wrong_chain: "), "\(otherLog)")
        let height = try await Self.column(owner, "SELECT height FROM kizuna.indexer_state", as: Int64.self)
        #expect(height == [Int64(target)], "a refused run wrote")
        try await owner.close()
    }

    /// yyyy-mm-dd of the Japan-time day of a UTC millisecond instant.
    static func dayText(_ milliseconds: UInt64) -> String {
        BlockRows.dayText(LedgerCalendar.japanDayAndHour(milliseconds).day)
    }

    // MARK: - Processes

    static func startIndexer(config: String, log: URL, arguments: [String] = []) throws -> Process {
        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = ["index", "--config", config] + arguments
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    static func indexedHeight(_ postgres: TestPostgres) async throws -> UInt64 {
        let connection = try await postgres.connect(user: postgres.indexerRole)
        defer { Task { try? await connection.close() } }
        do {
            for try await height in try await connection.query("SELECT height FROM kizuna.indexer_state", logger: logger).decode(Int64.self) {
                return UInt64(height)
            }
        } catch {
            return 0  // the first run was killed before it created the schema
        }
        return 0
    }

    // MARK: - Must-be-true 2: the index equals a full replay

    static func replay(network: LocalNetworkProcesses, to height: UInt64) throws -> BlockStore {
        let source = RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(network.apiPorts["city"]!)")!, token: LocalNetworkProcesses.auditorToken)
        let replica = try BlockStore(store: MemoryStore(), genesis: network.genesis)
        for next in 1...height {
            let validated = try BlockValidator(blocks: replica).validate(try source.block(at: next))
            try replica.commit(try validated.committed(by: try source.certificate(at: next), chainId: network.genesis.chainId, validators: network.genesis.validators))
        }
        return replica
    }

    static func rows<each T: PostgresDecodable & Sendable>(_ connection: PostgresConnection, _ query: PostgresQuery, as types: (repeat each T).Type) async throws -> [(repeat each T)] {
        var result: [(repeat each T)] = []
        for try await row in try await connection.query(query, logger: logger) { result.append(try row.decode((repeat each T).self)) }
        return result
    }

    static func column<T: PostgresDecodable & Sendable>(_ connection: PostgresConnection, _ query: PostgresQuery, as type: T.Type) async throws -> [T] {
        var result: [T] = []
        for try await value in try await connection.query(query, logger: logger).decode(T.self) { result.append(value) }
        return result
    }

    static func compare(postgres: TestPostgres, replica: BlockStore, height: UInt64, merchants: [PrivateKey]) async throws {
        let connection = try await postgres.connect(user: postgres.indexerRole)
        defer { Task { try? await connection.close() } }
        let state = try await rows(connection, "SELECT height, tip_hash FROM kizuna.indexer_state", as: (Int64, String).self)
        let replayedTip = try replica.tip().hash.hex
        #expect(state.count == 1 && state[0].0 == Int64(height) && state[0].1 == replayedTip, "indexed tip \(state) is not the chain's \(height)")

        var expectedBlocks: [(Int64, String)] = []
        var expectedTransactions: [(String, Int64, Int32)] = []
        for h in 1...height {
            let block: Block = try #require(try replica.block(at: h))
            expectedBlocks.append((Int64(h), block.hash.hex))
            for (index, transaction) in block.transactions.enumerated() { expectedTransactions.append((transaction.id.hex, Int64(h), Int32(index))) }
        }
        let blocks = try await rows(connection, "SELECT height, hash FROM kizuna.blocks ORDER BY height", as: (Int64, String).self)
        #expect(blocks.count == expectedBlocks.count, "\(blocks.count) block rows for \(expectedBlocks.count) blocks")
        #expect(blocks.map(\.0) == expectedBlocks.map(\.0) && blocks.map(\.1) == expectedBlocks.map(\.1), "the block rows are not the chain's blocks")
        let transactions = try await rows(connection, "SELECT id, height, index FROM kizuna.transactions ORDER BY height, index", as: (String, Int64, Int32).self)
        #expect(transactions.count == expectedTransactions.count, "\(transactions.count) transaction rows for \(expectedTransactions.count) transactions")
        #expect(transactions.map(\.0) == expectedTransactions.map(\.0) && transactions.map(\.1) == expectedTransactions.map(\.1) && transactions.map(\.2) == expectedTransactions.map(\.2), "the transaction rows are not the chain's")
        let receipts = try await rows(connection, "SELECT transaction_id, height, index FROM kizuna.receipts ORDER BY height, index", as: (String, Int64, Int32).self)
        #expect(receipts.map(\.0) == expectedTransactions.map(\.0) && receipts.map(\.1) == expectedTransactions.map(\.1), "the receipts are not the chain's")
        for (id, h, index) in receipts.prefix(50) {
            let transactionId = try #require(Hash(hex: id))
            let receipt = try #require(try replica.receipt(of: transactionId))
            #expect(receipt.height == UInt64(h) && receipt.index == UInt32(index))
        }
        print("indexer test: \(blocks.count) blocks, \(transactions.count) transactions compared with the replay")
        #expect(transactions.count > 100, "too little load to mean anything: \(transactions.count) transactions")

        // Settlement records: exactly the ledger's statements, line by line.
        let reports = LedgerReports(store: replica.store, genesis: replica.genesis)
        var expectedSettlements: [String] = []
        for merchant in merchants {
            guard let statement = try reports.settlements(merchant: merchant.publicKey) else { continue }
            for settlement in statement.settlements {
                for (line, entry) in settlement.lines.enumerated() {
                    expectedSettlements.append("\(statement.merchant) \(settlement.sequence) \(line) \(settlement.reference) \(entry.asset) \(entry.funder) \(entry.gross) \(entry.fee) \(entry.net)")
                }
            }
        }
        let settlements = try await rows(connection, "SELECT merchant, sequence, line, reference, asset, funder, gross, fee, net FROM kizuna.settlements ORDER BY merchant, sequence, line", as: (String, Int64, Int32, String, String, String, Int64, Int64, Int64).self)
        #expect(settlements.map { "\($0.0) \($0.1) \($0.2) \($0.3) \($0.4) \($0.5) \($0.6) \($0.7) \($0.8)" }.sorted() == expectedSettlements.sorted(), "the settlement rows are not the ledger's statements")
        #expect(!expectedSettlements.isEmpty, "no settlement happened: the load must redeem")

        // Invoices (issue 21): exactly the ledger's, as the last block left each.
        var expectedInvoices: [String] = []
        try replica.store.scan(.state, from: [StateKey.invoicePrefix], prefix: [StateKey.invoicePrefix]) { _, value in
            let invoice = try InvoiceState(storedBytes: value)
            expectedInvoices.append("\(invoice.id.hex) \(invoice.issuer.address) \(invoice.payer.address) \(invoice.amount) \(invoice.paid) \(invoice.payments) \(invoice.reference) \(invoice.cancelledAt != nil)")
            return true
        }
        let invoices = try await rows(connection, "SELECT id, issuer, payer, amount, paid, payments, reference, cancelled_at IS NOT NULL FROM kizuna.invoices ORDER BY id", as: (String, String, String, Int64, Int64, Int32, String, Bool).self)
        #expect(invoices.map { "\($0.0) \($0.1) \($0.2) \($0.3) \($0.4) \($0.5) \($0.6) \($0.7)" } == expectedInvoices, "the invoice rows are not the ledger's invoices")
        #expect(expectedInvoices.contains { $0.contains(" 500 200 1 ") }, "no invoice was partly paid: the load must bill and pay")

        // Programs: the ledger's program report at the indexed height.
        let programs = try await rows(connection, "SELECT id, name, budget::text, granted::text, used::text, expired::text, outstanding::text, remaining::text, as_of_height FROM kizuna.programs ORDER BY id", as: (Int64, String, String, String, String, String, String, String, Int64).self)
        let expectedPrograms = try reports.programs()
        #expect(programs.map { "\($0.0) \($0.1) \($0.2) \($0.3) \($0.4) \($0.5) \($0.6) \($0.7)" } == expectedPrograms.map { "\($0.id) \($0.name) \($0.budget) \($0.granted) \($0.used) \($0.expired) \($0.outstanding) \($0.remaining)" })
        #expect(programs.allSatisfy { $0.8 == Int64(height) })

        // Unused balance by base date: the ledger's report.
        let unused = try await rows(connection, "SELECT to_char(base_date, 'YYYY-MM-DD'), closed, outstanding_yen FROM kizuna.unused_balances ORDER BY base_date", as: (String, Bool, Int64).self)
        #expect(!unused.isEmpty)
        for (date, closed, outstanding) in unused {
            let parts = date.split(separator: "-").compactMap { Int64($0) }
            let report = try #require(try reports.unusedBalance(year: parts[0], month: parts[1], day: parts[2]))
            #expect(report.closed == closed && Int64(report.outstandingYen) == outstanding, "unused balance \(date)")
        }
    }

    struct NodeAggregates: Decodable {
        var height: UInt64
        var aggregates: ChainReports.Aggregates
    }

    /// Every stored day of aggregates equals the node's report for that day at the height the
    /// row was computed at — and the last batch's, at the indexed height, the replay's.
    /// Returns whether the report publishes any group (a rule that publishes closed days only
    /// publishes nothing on a chain younger than a day).
    @discardableResult
    static func compareAggregates(postgres: TestPostgres, network: LocalNetworkProcesses, replica: BlockStore, height: UInt64) async throws -> Bool {
        let connection = try await postgres.connect(user: postgres.indexerRole)
        defer { Task { try? await connection.close() } }
        let stored = try await rows(connection, "SELECT to_char(day, 'YYYY-MM-DD'), dimension, key, suppressed, payments, yen, residents, as_of_height FROM kizuna.payment_aggregates ORDER BY day, dimension, key", as: (String, String, String, Bool, Int64?, Int64?, Int32?, Int64).self)
        let keys = Set(stored.map { "\($0.0)@\($0.7)" }).sorted()
        var checkedAtTip = false
        for key in keys {
            let parts = key.split(separator: "@")
            let (day, asOf) = (String(parts[0]), UInt64(parts[1])!)
            let reply = try await network.client("city").get("v1/reports/aggregates?from=\(day)&to=\(day)&height=\(asOf)")
            #expect(reply.isSuccess, "the node's aggregates for \(day) at \(asOf): \(reply.text)")
            let node = try reply.decode(NodeAggregates.self)
            var expected: [String] = []
            for (dimension, groups) in StateRows.dimensions(node.aggregates) {
                for group in groups {
                    expected.append("\(dimension) \(group.key) \(group.suppressed) \(group.payments.map(String.init) ?? "-") \(group.yen.map(String.init) ?? "-") \(group.residents.map(String.init) ?? "-")")
                }
            }
            let mine = stored.filter { $0.0 == day }.map { "\($0.1) \($0.2) \($0.3) \($0.4.map(String.init) ?? "-") \($0.5.map(String.init) ?? "-") \($0.6.map(String.init) ?? "-")" }
            #expect(mine.sorted() == expected.sorted(), "the aggregates of \(day) differ from the node's at height \(asOf)")
            if asOf == height {
                checkedAtTip = true
                let dayNumber = UInt32(day.replacingOccurrences(of: "-", with: ""))!
                let replayed = try ChainReports.paymentAggregates(blocks: replica, fromDay: dayNumber, toDay: dayNumber)
                #expect(replayed == node.aggregates, "the node's report is not the replay's")
            }
        }
        // What the library reports for the tip's day at the indexed height, from the replay.
        let tipDay = LedgerCalendar.japanDayAndHour(try replica.tip().timestamp).day
        let replayed = try ChainReports.paymentAggregates(blocks: replica, fromDay: tipDay, toDay: tipDay)
        let replayedGroups = StateRows.dimensions(replayed).flatMap(\.groups)
        // The nodes' clocks cross a midnight (above): at least the first day is closed and stored.
        #expect(!keys.isEmpty, "no closed day's aggregates were stored")
        if !replayedGroups.isEmpty { #expect(checkedAtTip, "no aggregates at the indexed height \(height)") }
        // The data must hold both kinds of group, or the BI check below proves nothing.
        #expect(stored.contains { $0.3 }, "no suppressed group: the test's district of one resident should be one")
        #expect(stored.contains { !$0.3 && $0.1 == "district" }, "no published district group")
        return stored.contains { !$0.3 }
    }

    // MARK: - Must-be-true 3: what the BI role can read

    static func checkBIRole(postgres: TestPostgres, accounts: [PublicKey], expectPublished: Bool) async throws {
        let bi = try await postgres.connect(user: postgres.biRole)
        defer { Task { try? await bi.close() } }
        // Every relation outside the system catalogues the BI role can read any column of.
        let readable = try await rows(bi, """
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%' AND has_any_column_privilege(c.oid, 'SELECT')
            ORDER BY 1, 2
            """, as: (String, String).self)
        let names = readable.map { "\($0.0).\($0.1)" }
        print("indexer test: the BI role reads \(names.joined(separator: ", "))")
        #expect(names.allSatisfy { $0.hasPrefix("kizuna_bi.") }, "the BI role reads more than the BI views: \(names)")
        #expect(names.contains("kizuna_bi.daily_payments") && names.contains("kizuna_bi.program_burn_down") && names.contains("kizuna_bi.unused_balance"))
        let addresses = accounts.map(\.address.description)
        var cells = 0
        var published = 0
        for (schema, relation) in readable {
            let lines = try await column(bi, PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(schema).\(relation) t"), as: String.self)
            for line in lines {
                cells += 1
                #expect(!line.contains(Address.prefix), "\(schema).\(relation) holds an address: \(line)")
                for address in addresses { #expect(!line.contains(address), "\(schema).\(relation) holds account \(address)") }
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["suppressed"] as? Bool != true, "\(schema).\(relation) shows a suppressed group: \(line)")
                if let residents = object?["residents"] {
                    let count = try #require(residents as? Int, "\(schema).\(relation): residents is \(residents) in \(line)")
                    #expect(count >= ChainReports.minimumResidentsPerGroup, "\(schema).\(relation) shows a group of \(count) residents: \(line)")
                    published += 1
                }
            }
        }
        #expect(published > 0 || !expectPublished, "the BI views show no payment group although the index holds published ones")
        print("indexer test: the BI role read \(cells) rows, \(published) payment groups, none below \(ChainReports.minimumResidentsPerGroup) residents, no address")
        // And the private tables are refused outright.
        for table in ["transactions", "blocks", "payment_aggregates", "settlements", "invoices", "programs"] {
            do {
                _ = try await column(bi, PostgresQuery(unsafeSQL: "SELECT count(*) FROM kizuna.\(table)"), as: Int64.self)
                Issue.record("the BI role read kizuna.\(table)")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "42501", "kizuna.\(table): \(error)")
            }
        }
    }
}
