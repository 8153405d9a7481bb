import Foundation
import Testing
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaRocksDB
import KizunaWallet

/// Issue 7, must-be-true 2: the audit's reports equal the node's API reports for the same
/// height — the API of a real node process, the audit of its data folder.
@Suite("Audit reports equal the API's", .serialized)
struct AuditAPITests {
    struct SupplyAnswer: Decodable { var height: UInt64; var assets: [LedgerReports.Supply] }
    struct ProgramsAnswer: Decodable { var height: UInt64; var programs: [LedgerReports.Program] }
    struct UnusedAnswer: Decodable { var height: UInt64; var report: LedgerReports.UnusedBalance }

    @Test func auditReportsEqualTheNodesAPIReports() async throws {
        let node = try NodeProcess(name: "audit-api")
        defer { node.remove() }
        #expect(try await node.start(), "node did not start: \(node.log())")
        let chainId = node.genesis.chainId
        let resident = DevelopmentKeys.privateKey("resident-1")
        let merchant = DevelopmentKeys.privateKey("merchant-1")
        var registrar = TransactionBuilder(chainId: chainId, key: NodeProcess.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: NodeProcess.coinIssuer, nextNonce: 0)
        var payer = TransactionBuilder(chainId: chainId, key: resident, nextNonce: 0)
        var shop = TransactionBuilder(chainId: chainId, key: merchant, nextNonce: 0)
        let script = [
            registrar.register(resident.publicKey, role: .resident),
            registrar.register(merchant.publicKey, role: .merchant, merchantCategory: "restaurant"),
            issuer.charge(to: resident.publicKey, amount: 12_000, channel: .chargeMachine, receiptId: "api-1"),
            payer.sign(.pay(Pay(merchant: merchant.publicKey, amount: 2_500))),
            shop.sign(.redeem(Redeem(reference: "payout-1"))),
        ]
        for transaction in script {
            let reply = try await node.client.submit(transaction, waitForCommit: true)
            #expect(reply.json?["status"] as? String == "committed", "\(String(decoding: reply.body, as: UTF8.self))")
        }
        let status = try #require(try await node.client.get("v1/status").json)
        let height = UInt64(try #require(status["height"] as? Int))
        let decoder = JSONDecoder()
        let supply = try decoder.decode(SupplyAnswer.self, from: try await node.client.get("v1/supply?height=\(height)").body)
        let programs = try decoder.decode(ProgramsAnswer.self, from: try await node.client.get("v1/programs?height=\(height)").body)
        let unused = try decoder.decode(UnusedAnswer.self, from: try await node.client.get("v1/reports/unused-balance?date=2027-03-31&height=\(height)").body)
        node.stop()

        // The auditor: its own genesis, the data folder read-only, a full audit, then the
        // reports at the same height from the verified replay.
        let store = try RocksDBStore(path: node.dataDirectory + "/chain", readOnly: true)
        defer { store.close() }
        let source = try BlockStore(store: store, genesis: node.genesis)
        let (_, replica) = try ChainAuditor(genesis: node.genesis, source: source).run(storedState: store)
        let atHeight = try ChainReports.state(at: height, of: replica)
        let reports = LedgerReports(store: atHeight.store, genesis: node.genesis)
        #expect(supply.height == height)
        #expect(supply.assets == (try reports.supply()))
        #expect(programs.programs == (try reports.programs()))
        #expect(unused.report == (try reports.unusedBalance(year: 2027, month: 3, day: 31)))
        // And the figures are the ones the script implies: ¥12,000 charged at a machine
        // (1.5% bonus = 180 points), ¥2,500 paid (180 points + ¥2,320 coins), then redeemed.
        let coin = try #require(supply.assets.first { $0.asset == "coin" })
        #expect(coin.minted == 12_000 && coin.redeemed == 2_320 && coin.outstanding == 9_680)
        let point = try #require(supply.assets.first { $0.asset == "point" })
        #expect(point.minted == 180 && point.redeemed == 180 && point.outstanding == 0)
    }
}
