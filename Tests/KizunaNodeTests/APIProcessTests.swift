import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import KizunaCore
import KizunaWallet

/// The API end to end against a real `kizuna node` process on 127.0.0.1: submissions,
/// signed reads, the access rule between residents, member credentials, events, bad input.
@Suite("HTTP API against a real node process", .serialized)
struct APIProcessTests {
    @Test func endToEnd() async throws {
        let node = try NodeProcess(name: "api")
        defer { node.remove() }
        // Add member credentials to the configuration NodeProcess wrote.
        let configurationURL = node.folder.appendingPathComponent("node.json")
        var configuration = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configurationURL)) as? [String: Any])
        let token = "process-test-member-token"
        configuration["access"] = ["credentials": [["name": "chamber", "role": "member", "tokenSha256": Hash.sha256(Array(token.utf8)).hex]]]
        try JSONSerialization.data(withJSONObject: configuration).write(to: configurationURL)
        #expect(try await node.start(), "node did not start: \(node.log())")

        let chainId = node.genesis.chainId
        let one = DevelopmentKeys.privateKey("resident-1")
        let two = DevelopmentKeys.privateKey("resident-2")
        let shop = DevelopmentKeys.privateKey("merchant-1")
        var registrar = TransactionBuilder(chainId: chainId, key: NodeProcess.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: NodeProcess.coinIssuer, nextNonce: 0)
        for transaction in [
            registrar.register(one.publicKey, role: .resident), registrar.register(two.publicKey, role: .resident),
            registrar.register(shop.publicKey, role: .merchant, merchantCategory: "drugstore"),
            issuer.charge(to: one.publicKey, amount: 3_000, receiptId: "e2e-1"),
        ] {
            let reply = try await node.client.submit(transaction, waitForCommit: true)
            #expect(reply.json?["status"] as? String == "committed", "\(reply.text)")
        }

        let mine = node.client.authenticated(.signed(RequestSigner(chainId: chainId, key: one)))
        var wallet = TransactionBuilder(chainId: chainId, key: one, nextNonce: try await mine.nextNonce(of: one.publicKey))
        #expect(wallet.nextNonce == 0)
        let payment = try await node.client.submit(wallet.pay(merchant: shop.publicKey, amount: 700), waitForCommit: true)
        #expect(payment.statusCode == 200)
        #expect(payment.json?["status"] as? String == "committed")

        let account = try await mine.account(one.publicKey)
        #expect(account.statusCode == 200, "\(account.text)")
        #expect(account.json?["nonce"] as? Int == 1)
        let history = try await mine.history(one.publicKey, limit: 10)
        #expect((history.json?["transactions"] as? [Any])?.count == 3)

        // A resident cannot read another resident's history, nor can an anonymous caller.
        let theirs = node.client.authenticated(.signed(RequestSigner(chainId: chainId, key: two)))
        let refused = try await theirs.history(one.publicKey)
        #expect(refused.statusCode == 403)
        #expect(refused.problemCode == "auth.forbidden")
        #expect(try await node.client.account(one.publicKey).problemCode == "auth.required")

        // Members read everything; full blocks only with credentials.
        let member = node.client.authenticated(.bearer(token))
        #expect(try await member.history(one.publicKey).statusCode == 200)
        #expect(try await member.block(at: nil).statusCode == 200)
        #expect(try await node.client.block(at: nil).problemCode == "auth.required")
        #expect(try await node.client.supply().statusCode == 200)
        #expect(try await node.client.unusedBalance(date: "2027-03-31").statusCode == 200)

        // The event stream over a real socket.
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(node.port)/v1/events?from=1&limit=2")!)
        request.timeoutInterval = 30
        let (data, _) = try await URLSession.shared.data(for: request)
        let events = String(decoding: data, as: UTF8.self)
        #expect(events.contains("id: 1\nevent: block\n"))
        #expect(events.contains("id: 2\nevent: block\n"))

        // Bad input gets its code, and the node keeps serving.
        var garbage = URLRequest(url: URL(string: "http://127.0.0.1:\(node.port)/v1/transactions")!)
        garbage.httpMethod = "POST"
        garbage.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        garbage.httpBody = Data([0xff, 0xff, 0xff, 0xff, 0x00])
        let (garbageBody, garbageResponse) = try await URLSession.shared.data(for: garbage)
        #expect((garbageResponse as? HTTPURLResponse)?.statusCode == 400)
        #expect(String(decoding: garbageBody, as: UTF8.self).contains("tx.malformed"))
        #expect(try await node.client.status().statusCode == 200)
        node.stop()
    }

    /// The per-client token bucket over a real socket (keyed by the remote address), with
    /// loopback limiting switched on.
    @Test func rateLimitOverARealSocket() async throws {
        let node = try NodeProcess(name: "api-rate")
        defer { node.remove() }
        let configurationURL = node.folder.appendingPathComponent("node.json")
        var configuration = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configurationURL)) as? [String: Any])
        var api = try #require(configuration["api"] as? [String: Any])
        api["rateLimitLoopback"] = true
        api["requestsPerSecondPerClient"] = 1
        api["requestBurstPerClient"] = 3
        configuration["api"] = api
        try JSONSerialization.data(withJSONObject: configuration).write(to: configurationURL)
        #expect(try await node.start(), "node did not start: \(node.log())")
        var codes: [Int] = []
        var retryAfter: String?
        // A bounded burst of requests: with 1 request per second and a burst of 3, some are
        // refused unless the 200 requests are spread over more than ~200 s (no timing assumed
        // beyond that).
        for _ in 0..<200 {
            let reply = try await node.client.status()
            codes.append(reply.statusCode)
            if reply.statusCode == 429 {
                retryAfter = reply.headers["retry-after"]
                break
            }
        }
        #expect(codes.contains(429), "\(codes)")
        #expect(retryAfter == "1")
        #expect(try await node.client.get("health").statusCode == 200)
        node.stop()
    }
}
