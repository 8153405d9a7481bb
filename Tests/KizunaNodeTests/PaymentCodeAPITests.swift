import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KizunaCore
import KizunaNode
import KizunaWallet
import NIOCore
import Testing

/// Customer-presented payments (issue 19) end to end through a node's API: the resident's
/// wallet library builds the authorisation and renders it as a QR code, the merchant's
/// terminal parses the scanned text and submits `pay_authorised`, the ledger settles it; a
/// replayed, over-cap or expired code is refused with its code at admission.
@Suite struct PaymentCodeAPITests {
    typealias F = APIFixture

    @Test func customerPresentedPaymentOverTheAPI() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let tipTime = fixture.blockMilliseconds.withLock { $0 }
        // The resident's phone: a code for the restaurant, up to ¥2,000, for two minutes.
        let code = try PaymentCode.authorise(chainId: F.chainId, key: F.resident1, merchant: F.merchant.publicKey, capYen: 2_000, now: tipTime, lifetimeSeconds: 120)
        let text = PaymentCode.text(code)
        let symbol = try #require(QRCode.encode(text: text))
        #expect(symbol.version == 11, "a code naming its merchant is a version-11 symbol")
        // The terminal: the scanned text, the amount, the merchant's own key and nonce.
        let scanned = try PaymentCode.parse(text)
        var terminal = TransactionBuilder(chainId: F.chainId, key: F.merchant, nextNonce: 0)
        let collect = terminal.collect(scanned, amount: 1_500)
        let replay = terminal.collect(scanned, amount: 1_500)
        let overCap = terminal.collect(try PaymentCode.parse(PaymentCode.text(try PaymentCode.authorise(chainId: F.chainId, key: F.resident1, merchant: nil, capYen: 100, now: tipTime))), amount: 101)
        let expired = terminal.collect(try PaymentCode.authorise(chainId: F.chainId, key: F.resident1, merchant: nil, capYen: 100, now: tipTime - 300_000), amount: 50)
        let octet: HTTPFields = [.contentType: "application/octet-stream"]
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: collect.canonicalBytes)) { response in
                #expect(response.status == .accepted)
            }
            _ = try await fixture.node.produceBlock(nowMilliseconds: tipTime + 30_000)
            try await client.execute(uri: "/v1/transactions/\(collect.id.hex)", method: .get) { response in
                #expect(response.json?["status"] as? String == "committed")
            }
            // The same code again, in a new transaction of the same merchant.
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: replay.canonicalBytes)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.code == "ledger.authorisation_used")
            }
            var next = TransactionBuilder(chainId: F.chainId, key: F.merchant, nextNonce: 1)
            let overCapNow = next.sign(overCap.transaction.body)
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: overCapNow.canonicalBytes)) { response in
                #expect(response.code == "ledger.authorisation_cap_exceeded")
            }
            var later = TransactionBuilder(chainId: F.chainId, key: F.merchant, nextNonce: 1)
            let expiredNow = later.sign(expired.transaction.body)
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: expiredNow.canonicalBytes)) { response in
                #expect(response.code == "ledger.authorisation_expired")
            }
            // Settled as a pay: the resident's 500 points first, then ¥1,000 in coins; the
            // resident's nonce did not move (the merchant signed).
            let residentPath = "/v1/accounts/\(F.resident1.publicKey.address)"
            try await client.execute(uri: residentPath, method: .get, headers: fixture.signed(F.resident1, residentPath)) { response in
                let balances = response.json?["balances"] as? [[String: Any]] ?? []
                #expect(response.json?["nonce"] as? Int == 1)
                #expect(balances.first { $0["asset"] as? String == "coin" }?["amount"] as? Int == 9_200 - 1_000)
                #expect(balances.first { $0["asset"] as? String == "point" }?["amount"] as? Int ?? 0 == 0)
            }
            let merchantPath = "/v1/accounts/\(F.merchant.publicKey.address)"
            try await client.execute(uri: merchantPath, method: .get, headers: fixture.signed(F.merchant, merchantPath)) { response in
                let balances = response.json?["balances"] as? [[String: Any]] ?? []
                #expect(balances.first { $0["asset"] as? String == "coin" }?["amount"] as? Int == 1_100 + 1_000)
                #expect(balances.first { $0["asset"] as? String == "point" }?["amount"] as? Int == 100 + 500)
            }
            // The payer's history lists the payment the merchant signed.
            let historyPath = "/v1/accounts/\(F.resident1.publicKey.address)/transactions"
            try await client.execute(uri: historyPath, method: .get, headers: fixture.signed(F.resident1, historyPath)) { response in
                #expect(response.text.contains(collect.id.hex))
            }
        }
    }
}
