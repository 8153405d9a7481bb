import Foundation
import Logging
import Testing
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaNode
import KizunaRocksDB
import KizunaStorage
import KizunaWallet

/// Issue 16, must-be-true 3 on several nodes: a validator that proposes, a node that takes
/// every decided block the way consensus and block sync hand it over (`validateProposal`, a
/// verified certificate, `commitDecided`), and a node whose RocksDB folder was written in the
/// previous format (no account-history index) and migrated on open. Every account's history,
/// paged with several page sizes, is the same on all three.
@Suite("History on every node")
struct HistoryOnEveryNodeTests {
    static let residents = (0..<6).map { PrivateKey(seed: [UInt8](repeating: 0x60 + UInt8($0), count: 32))! }
    static let merchants = (0..<2).map { PrivateKey(seed: [UInt8](repeating: 0x70 + UInt8($0), count: 32))! }
    static let successor = PrivateKey(seed: [UInt8](repeating: 0x7F, count: 32))!

    struct Item: Equatable {
        var id: Hash
        var height: UInt64
        var index: UInt32
        var timestamp: UInt64
    }

    /// Every page of `account`'s history at `limit` per page, to the end; each page but the
    /// last holds exactly `limit`, and the last has no cursor.
    static func pages(_ node: Node, _ account: PublicKey, limit: Int) throws -> [[Item]] {
        var result: [[Item]] = []
        var cursor: ChainPosition?
        while true {
            let page = try node.history(of: account, before: cursor, limit: limit)
            result.append(page.entries.map { Item(id: $0.transaction.id, height: $0.height, index: $0.index, timestamp: $0.timestamp) })
            guard let next = page.next else { break }
            #expect(page.entries.count == limit, "a short page with a cursor")
            #expect(next == page.entries.last?.position)
            cursor = next
        }
        return result
    }

    @Test func aValidatorAFollowerAndAMigratedNodeServeTheSameHistoryPages() async throws {
        let genesis = APIFixture.makeGenesis()
        let chainId = genesis.chainId
        var logger = Logger(label: "history")
        logger.logLevel = .critical
        let validatorStore = MemoryStore()
        let followerStore = MemoryStore()
        var nodes: [Node] = []
        var stores: [BlockStore] = []
        for store in [validatorStore, followerStore] {
            let blocks = try BlockStore(store: store, genesis: genesis)
            stores.append(blocks)
            nodes.append(try Node(configuration: APIFixture.defaultConfiguration(), genesis: genesis, blocks: blocks, key: APIFixture.validatorKey, mode: .consensus, logger: logger))
        }
        var registrar = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: APIFixture.coinIssuer, nextNonce: 0)
        var city = TransactionBuilder(chainId: chainId, key: APIFixture.city, nextNonce: 0)
        var wallets = Self.residents.map { TransactionBuilder(chainId: chainId, key: $0, nextNonce: 0) }
        var merchantWallets = Self.merchants.map { TransactionBuilder(chainId: chainId, key: $0, nextNonce: 0) }
        var clock = genesis.genesisTime
        var committed = 0
        func decide(_ transactions: [SignedTransaction]) async throws {
            clock += 60_000
            for transaction in transactions { try await nodes[0].submit(try transaction.verified(chainId: chainId)) }
            let tip = try stores[0].tipHeight()
            let block = try await nodes[0].buildProposal(timestamp: clock, proposer: APIFixture.validatorKey.publicKey, lastCommit: tip == 0 ? nil : try stores[0].certificate(at: tip)).block
            #expect(block.transactions.count == transactions.count, "block \(block.height) left transactions out")
            committed += block.transactions.count
            for node in nodes {
                let validated = try await node.validateProposal(block, verified: try block.transactions.map { try $0.verified(chainId: chainId) })
                try await node.commitDecided(try validated.committedBySingleValidator(APIFixture.validatorKey, genesis: genesis))
            }
        }
        // Set-up, then twelve blocks of payments, sends and thanks (SplitMix64: replayable),
        // a charge each, a freeze, a co-signed recovery and a redemption.
        try await decide(Self.residents.map { registrar.register($0.publicKey, role: .resident) }
            + Self.merchants.map { registrar.register($0.publicKey, role: .merchant, merchantCategory: "restaurant") })
        try await decide(Self.residents.enumerated().map { issuer.charge(to: $1.publicKey, amount: 20_000, receiptId: "history-\($0)") }
            + [city.createProgram(CreateProgram(asset: .thanks, name: "thanks", funder: APIFixture.city.publicKey, budgetYen: 100_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 5_000))])
        try await decide(Self.residents.map { city.grant(program: 1, to: $0.publicKey, amount: 1_000) })
        var random = SplitMix64(seed: 16)
        let active = 5  // the last resident is frozen and recovered
        for step in 0..<12 {
            var transactions: [SignedTransaction] = []
            for index in 0..<active where random.chance(70) {
                let other = Self.residents[(index + 1 + random.below(active - 1)) % active].publicKey
                switch random.below(3) {
                case 0: transactions.append(wallets[index].pay(merchant: Self.merchants[random.below(2)].publicKey, amount: random.amount(in: 100...500)))
                case 1: transactions.append(wallets[index].send(to: other, amount: random.amount(in: 1...300)))
                default: transactions.append(wallets[index].thank(other, amount: random.amount(in: 1...50)))
                }
            }
            transactions.append(issuer.charge(to: Self.residents[random.below(active)].publicKey, amount: 1_000, receiptId: "history-top-up-\(step)"))
            if step == 3 { transactions.append(registrar.freeze(Self.residents[active].publicKey)) }
            if step == 6 { transactions.append(registrar.recover(from: Self.residents[active].publicKey, to: Self.successor.publicKey, city: APIFixture.city)) }
            if step == 9 { transactions.append(merchantWallets[0].redeem(reference: "payout-1")) }
            try await decide(transactions)
        }

        // The third node: the validator's chain as the first release stored it on disk (format
        // version 1: no account-history family, each transaction's whole receipt under its
        // whole id), opened by this release.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-history-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            let disk = try RocksDBStore(path: folder)
            var batch = WriteBatch()
            for family in ColumnFamily.allCases where family != .accountHistory && family != .transactions {
                for entry in validatorStore.allEntries(in: family) { batch.put(entry.value, for: entry.key, in: family) }
            }
            for height in 1...(try stores[0].tipHeight()) {
                let block = try #require(try stores[0].block(at: height))
                for (index, transaction) in block.transactions.enumerated() {
                    let receipt = Receipt(transactionId: transaction.id, height: height, index: UInt32(index))
                    batch.put(receipt.canonicalBytes, for: transaction.id.bytes, in: .transactions)
                }
            }
            batch.put([0, 0, 0, 1], for: Array("format_version".utf8), in: .meta)
            try disk.write(batch, sync: true)
            disk.close()
        }
        let disk = try RocksDBStore(path: folder)
        defer { disk.close() }
        var progress = 0
        let migrated = try BlockStore(store: disk, genesis: genesis, migrationEntriesPerBatch: 16) { _, _ in progress += 1 }
        #expect(progress > 2)
        _ = try ChainVerifier(blocks: migrated).verify()
        // Its old index entries, under whole ids, still answer (ADR 0031).
        var receipts = 0
        for height in 1...(try stores[0].tipHeight()) {
            for transaction in try #require(try stores[0].block(at: height)).transactions {
                #expect(try migrated.receipt(of: transaction.id) == stores[0].receipt(of: transaction.id))
                receipts += 1
            }
        }
        #expect(receipts == committed)
        nodes.append(try Node(configuration: APIFixture.defaultConfiguration(), genesis: genesis, blocks: migrated, key: APIFixture.validatorKey, mode: .consensus, logger: logger))

        let accounts = (Self.residents + Self.merchants + [Self.successor, APIFixture.registrar, APIFixture.coinIssuer, APIFixture.city, APIFixture.validatorKey]).map(\.publicKey)
        var entries = 0
        for account in accounts {
            // What a full scan of the validator's blocks names, newest first.
            var scanned: [Item] = []
            let tip = try stores[0].tipHeight()
            for height in stride(from: tip, through: 1, by: -1) {
                let block = try #require(try stores[0].block(at: height))
                for (index, transaction) in block.transactions.enumerated().reversed() where transaction.names(account) {
                    scanned.append(Item(id: transaction.id, height: height, index: UInt32(index), timestamp: block.header.timestamp))
                }
            }
            entries += scanned.count
            for limit in [1, 2, 3, 7, 100] {
                let reference = try Self.pages(nodes[0], account, limit: limit)
                #expect(reference.flatMap { $0 } == scanned, "\(account.address), \(limit) per page: the validator's pages are not the full scan")
                for (number, node) in nodes.enumerated().dropFirst() {
                    #expect(try Self.pages(node, account, limit: limit) == reference, "\(account.address), \(limit) per page: node \(number) answers other pages")
                }
            }
        }
        #expect(entries > committed && committed > 50, "\(committed) transactions, \(entries) history entries")
    }
}

fileprivate extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int.random(in: 0..<bound, using: &self) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func amount(in range: ClosedRange<UInt64>) -> UInt64 { UInt64.random(in: range, using: &self) }
}
