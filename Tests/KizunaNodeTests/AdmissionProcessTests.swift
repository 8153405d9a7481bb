import Foundation
import Testing
import KizunaCore
import KizunaNode
import KizunaWallet

/// Admission on four validators as real processes (issue 15, must-be-true 1 and 2): what
/// cannot apply is refused in the POST's answer with the ledger's code, no node holds it
/// pending, the account's next valid transaction commits, and mistakes do not make the
/// network produce blocks faster than when it is idle. No wall-clock bound: waits are
/// bounded polls, and the block rate is compared as a ratio of two windows of the same run.
@Suite("Admission on four validators", .serialized)
struct AdmissionProcessTests {
    static let city = DevelopmentKeys.privateKey("city")

    /// Submits through `via` and expects a final refusal with `code` there, and no node
    /// holding the transaction pending (the refusing node reads it `rejected`, the others
    /// never admitted it: 404).
    static func expectRefused(_ network: LocalNetworkProcesses, _ transaction: SignedTransaction, via name: String, code: String,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reply = try await network.client(name).submit(transaction, waitForCommit: true)
        #expect(reply.statusCode == 422, "\(code): HTTP \(reply.statusCode) \(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.problemCode == code, "expected \(code), got \(reply.text)", sourceLocation: sourceLocation)
        for node in LocalNetworkProcesses.validatorNames {
            let status = try await network.client(node).transaction(transaction.id)
            if node == name {
                #expect(status.statusCode == 422 && status.json?["status"] as? String == "rejected" && status.json?["code"] as? String == code,
                        "\(node): \(status.text)", sourceLocation: sourceLocation)
            } else {
                #expect(status.statusCode == 404, "\(node) holds a refused transaction: \(status.text)", sourceLocation: sourceLocation)
            }
        }
    }

    static func committed(_ reply: NodeClient.Reply) -> Bool { reply.json?["status"] as? String == "committed" }

    /// Blocks per second over `seconds` of wall time on `name` (a measurement, not a bound).
    static func blockRate(_ network: LocalNetworkProcesses, _ name: String, seconds: UInt64) async throws -> Double {
        let start = await network.status(name)?.height ?? 0
        let began = DispatchTime.now().uptimeNanoseconds
        try await Task.sleep(nanoseconds: seconds * 1_000_000_000)
        let end = await network.status(name)?.height ?? 0
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
        return Double(end - min(end, start)) / elapsed
    }

    @Test func whatCannotApplyIsRefusedAtOnceAndNothingIsStuck() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "admission")
        defer { network.removeAll() }
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        #expect(await network.eventually { (await network.status("city")?.height ?? 0) >= 2 }, "no block committed: \(network.log("city"))")
        let chainId = network.genesis.chainId
        let resident = PrivateKey(), merchant = PrivateKey(), frozen = PrivateKey()
        var registrar = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.coinIssuer, nextNonce: 0)
        var cityBuilder = TransactionBuilder(chainId: chainId, key: Self.city, nextNonce: 0)
        for transaction in [
            registrar.register(resident.publicKey, role: .resident),
            registrar.register(merchant.publicKey, role: .merchant, merchantCategory: "restaurant"),
            registrar.register(frozen.publicKey, role: .resident),
            issuer.charge(to: resident.publicKey, amount: 3_850, receiptId: "admission-1"),
            issuer.charge(to: frozen.publicKey, amount: 1_000, receiptId: "admission-2"),
            registrar.freeze(frozen.publicKey),
            cityBuilder.createProgram(CreateProgram(asset: .point, name: "small", funder: Self.city.publicKey, budgetYen: 1_000,
                                                    expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 3), perResidentCapYen: 5_000)),
        ] {
            let reply = try await network.client("chamber").submit(transaction, waitForCommit: true)
            #expect(Self.committed(reply), "set-up: \(reply.text)")
        }
        let program = UInt64(1)
        #expect(Self.committed(try await network.client("chamber").submit(cityBuilder.grant(program: program, to: resident.publicKey, amount: 1_000), waitForCommit: true)))

        // An overspend at the till: refused at once, and the resident's next payment commits.
        var wallet = TransactionBuilder(chainId: chainId, key: resident, nextNonce: 0)
        try await Self.expectRefused(network, wallet.pay(merchant: merchant.publicKey, amount: 99_999), via: "city", code: "ledger.insufficient_balance")
        wallet.nextNonce = 0   // the refused payment used nothing
        let next = try await network.client("city").submit(wallet.pay(merchant: merchant.publicKey, amount: 100), waitForCommit: true)
        #expect(Self.committed(next), "the resident's next payment: \(next.text)")

        // A nonce gap, a frozen account, a wrong-role signer, an exhausted program budget.
        var gapped = TransactionBuilder(chainId: chainId, key: resident, nextNonce: 5)
        try await Self.expectRefused(network, gapped.pay(merchant: merchant.publicKey, amount: 100), via: "operator", code: "tx.nonce_gap")
        var frozenWallet = TransactionBuilder(chainId: chainId, key: frozen, nextNonce: 0)
        try await Self.expectRefused(network, frozenWallet.pay(merchant: merchant.publicKey, amount: 100), via: "bank", code: "ledger.frozen")
        var shop = TransactionBuilder(chainId: chainId, key: merchant, nextNonce: 0)
        try await Self.expectRefused(network, shop.send(to: resident.publicKey, amount: 100), via: "chamber", code: "ledger.wrong_role")
        try await Self.expectRefused(network, cityBuilder.grant(program: program, to: resident.publicKey, amount: 1), via: "city", code: "ledger.program_budget_exhausted")
        // Each of those accounts is free: its next valid transaction commits.
        wallet.nextNonce = 1
        #expect(Self.committed(try await network.client("operator").submit(wallet.pay(merchant: merchant.publicKey, amount: 50), waitForCommit: true)))
        cityBuilder.nextNonce -= 1
        #expect(Self.committed(try await network.client("city").submit(cityBuilder.createProgram(CreateProgram(asset: .point, name: "next", funder: Self.city.publicKey, budgetYen: 1_000,
                                                                                                              expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 3), perResidentCapYen: 5_000)), waitForCommit: true)))

        // Ten unexecutable transactions: the block rate stays the idle rate (a ratio).
        let idle = try await Self.blockRate(network, "city", seconds: 4)
        for index in 0..<10 {
            var spender = TransactionBuilder(chainId: chainId, key: resident, nextNonce: 2)
            let reply = try await network.client(LocalNetworkProcesses.validatorNames[index % 4]).submit(spender.pay(merchant: merchant.publicKey, amount: 50_000 + UInt64(index)), waitForCommit: false)
            #expect(reply.statusCode == 422, "unexecutable \(index): \(reply.text)")
        }
        let withMistakes = try await Self.blockRate(network, "city", seconds: 4)
        print("MEASURE admission block rate: idle \(idle) blocks/s, with ten unexecutable transactions \(withMistakes) blocks/s")
        #expect(idle > 0, "the network committed nothing while idle")
        #expect(withMistakes <= idle * 1.5 + 0.5, "ten mistakes raised the block rate from \(idle) to \(withMistakes) blocks/s")
        let pending = try await network.client("city").status().json?["pendingTransactions"] as? Int
        #expect(pending == 0, "transactions left pending: \(pending ?? -1)")
    }
}
