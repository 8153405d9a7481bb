import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaNode
import KizunaAPI
import KizunaWallet

/// Every endpoint and error path of the API, through Hummingbird's router test client
/// (no socket). The end-to-end test against a real process is in `APIProcessTests`.
@Suite("HTTP API")
struct APITests {
    typealias F = APIFixture

    // MARK: - Open chain data

    @Test func healthStatusAndOpenAPIDocument() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["status"] as? String == "ok")
            }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .ok)
                let json = try #require(response.json)
                #expect(json["chainId"] as? String == F.chainId)
                #expect(json["height"] as? Int == 5)
                let validators = try #require(json["validators"] as? [[String: Any]])
                #expect(validators.count == 1)
                #expect(validators.first?["voting"] as? Bool == true)
                #expect(json["node"] as? String == F.validatorKey.publicKey.address.description)
            }
            try await client.execute(uri: "/v1/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.hasPrefix("openapi: 3.1"))
            }
        }
    }

    @Test func headersAreOpen() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/headers/latest", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.no_such_block")
                #expect(response.isProblem)
            }
        }
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/headers/latest", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["height"] as? Int == 5)
            }
            try await client.execute(uri: "/v1/headers/2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["height"] as? Int == 2)
                #expect((response.json?["hash"] as? String)?.count == 64)
            }
            try await client.execute(uri: "/v1/headers/99", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.no_such_block")
            }
            try await client.execute(uri: "/v1/headers/minus-one", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.code == "api.bad_height")
            }
        }
    }

    @Test func fullBlocksOnlyForMembersAndAuditors() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/blocks/3", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.required")
            }
            try await client.execute(uri: "/v1/blocks/3", method: .get, headers: fixture.signed(F.resident1, "/v1/blocks/3")) { response in
                #expect(response.status == .forbidden)
                #expect(response.code == "auth.forbidden")
            }
            try await client.execute(uri: "/v1/blocks/3", method: .get, headers: F.bearer("not-a-token")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.bad_token")
            }
            try await client.execute(uri: "/v1/blocks/3", method: .get, headers: [.authorization: "Basic abc"]) { response in
                #expect(response.code == "auth.bad_token")
            }
            try await client.execute(uri: "/v1/blocks/3", method: .get, headers: F.bearer(F.memberToken)) { response in
                #expect(response.status == .ok)
                let json = try #require(response.json)
                let transactions = try #require(json["transactions"] as? [[String: Any]])
                #expect(transactions.map { $0["kind"] as? String } == ["pay", "send"])
                let body = try #require(transactions.first?["body"] as? [String: Any])
                #expect(body["amount"] as? Int == 1_200)
                #expect(body["merchant"] as? String == F.merchant.publicKey.address.description)
                #expect(json["certificate"] != nil)
                #expect(json["lastCommit"] != nil)
            }
            try await client.execute(uri: "/v1/blocks/latest", method: .get, headers: F.bearer(F.auditorToken)) { response in
                #expect(response.status == .ok)
                #expect((response.json?["header"] as? [String: Any])?["height"] as? Int == 5)
            }
            try await client.execute(uri: "/v1/blocks/77", method: .get, headers: F.bearer(F.auditorToken)) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.no_such_block")
            }
            try await client.execute(uri: "/v1/blocks/x", method: .get, headers: F.bearer(F.auditorToken)) { response in
                #expect(response.code == "api.bad_height")
            }
        }
    }

    // MARK: - Submitting transactions

    @Test func submitAndWaitForCommit() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        var one = TransactionBuilder(chainId: F.chainId, key: F.resident1, nextNonce: 1)
        let payment = one.pay(merchant: F.merchant.publicKey, amount: 100)
        let second = one.pay(merchant: F.merchant.publicKey, amount: 200)
        try await withProducer(fixture) {
            try await fixture.application().test(.router) { client in
                try await client.execute(uri: "/v1/transactions?wait=commit", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: payment.canonicalBytes)) { response in
                    #expect(response.status == .ok)
                    #expect(response.json?["status"] as? String == "committed")
                    #expect(response.json?["id"] as? String == payment.id.hex)
                    #expect(response.json?["height"] as? Int == 6)
                }
                let json = "{\"transaction\": \"\(second.canonicalBytes.hexString)\"}"
                try await client.execute(uri: "/v1/transactions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: json)) { response in
                    #expect(response.status == .accepted)
                    #expect(response.json?["status"] as? String == "pending")
                    #expect(response.headers[.location] == "/v1/transactions/\(second.id.hex)")
                }
                // Poll its status until committed (bounded).
                var status = ""
                for _ in 0..<3000 where status != "committed" {
                    status = try await client.execute(uri: "/v1/transactions/\(second.id.hex)", method: .get) { $0.json?["status"] as? String ?? "" }
                    try await Task.sleep(nanoseconds: 10_000_000)
                }
                #expect(status == "committed")
                // Resubmitting a committed transaction.
                try await client.execute(uri: "/v1/transactions", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: payment.canonicalBytes)) { response in
                    #expect(response.status == .conflict)
                    #expect(response.code == "tx.duplicate")
                }
                // A replayed nonce: a new transaction with an already-used nonce.
                var stale = TransactionBuilder(chainId: F.chainId, key: F.resident1, nextNonce: 0)
                try await client.execute(uri: "/v1/transactions", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: stale.pay(merchant: F.merchant.publicKey, amount: 1).canonicalBytes)) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(response.code == "tx.bad_nonce")
                }
                // An unknown account: refused at once (it could never commit).
                var stranger = TransactionBuilder(chainId: F.chainId, key: F.resident3, nextNonce: 0)
                let unknown = stranger.pay(merchant: F.merchant.publicKey, amount: 1)
                try await client.execute(uri: "/v1/transactions?wait=commit", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: unknown.canonicalBytes)) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(response.code == "ledger.unknown_account")
                }
                // Refused means final: this node reports it rejected, with the code.
                try await client.execute(uri: "/v1/transactions/\(unknown.id.hex)", method: .get) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(response.json?["status"] as? String == "rejected")
                    #expect(response.json?["code"] as? String == "ledger.unknown_account")
                }
                // A ledger rejection with wait=commit: paying more than the balance.
                var poor = TransactionBuilder(chainId: F.chainId, key: F.resident2, nextNonce: 1)
                let tooMuch = poor.pay(merchant: F.merchant.publicKey, amount: 90_000)
                // A ledger refusal at admission: a problem document with the ledger's code.
                try await client.execute(uri: "/v1/transactions?wait=commit", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: tooMuch.canonicalBytes)) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(response.code == "ledger.insufficient_balance")
                }
                try await client.execute(uri: "/v1/transactions/\(tooMuch.id.hex)", method: .get) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(response.json?["code"] as? String == "ledger.insufficient_balance")
                }
            }
        }
    }

    @Test func badSubmissionsGetTheirCodesAndTheNodeKeepsServing() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        var one = TransactionBuilder(chainId: F.chainId, key: F.resident1, nextNonce: 1)
        let good = one.pay(merchant: F.merchant.publicKey, amount: 100)
        var tamperedBytes = good.canonicalBytes
        tamperedBytes[tamperedBytes.count - 10] ^= 0x01   // a bit of the signature
        let tampered = tamperedBytes
        var otherChainBuilder = TransactionBuilder(chainId: "local-other", key: F.resident1, nextNonce: 1)
        let otherChain = otherChainBuilder.pay(merchant: F.merchant.publicKey, amount: 1)
        let octet: HTTPFields = [.contentType: "application/octet-stream"]
        try await fixture.application().test(.router) { client in
            let cases: [(HTTPFields, ByteBuffer, String, HTTPResponse.Status, String)] = [
                (octet, ByteBuffer(bytes: [1, 2, 3]), "", .badRequest, "tx.malformed"),
                (octet, ByteBuffer(bytes: good.canonicalBytes + [0]), "", .badRequest, "tx.malformed"),
                ([.contentType: "application/json"], ByteBuffer(string: "{not json"), "", .badRequest, "tx.malformed"),
                ([.contentType: "application/json"], ByteBuffer(string: "{\"transaction\": \"zz\"}"), "", .badRequest, "tx.malformed"),
                ([.contentType: "text/plain"], ByteBuffer(bytes: good.canonicalBytes), "", .unsupportedMediaType, "api.unsupported_media_type"),
                ([:], ByteBuffer(bytes: good.canonicalBytes), "", .unsupportedMediaType, "api.unsupported_media_type"),
                (octet, ByteBuffer(repeating: 0, count: 70_000), "", .contentTooLarge, "tx.too_large"),
                (octet, ByteBuffer(repeating: 0, count: 5_000), "", .contentTooLarge, "tx.too_large"),
                (octet, ByteBuffer(bytes: tampered), "", .unprocessableContent, "tx.bad_signature"),
                (octet, ByteBuffer(bytes: otherChain.canonicalBytes), "", .unprocessableContent, "tx.wrong_chain"),
                (octet, ByteBuffer(bytes: good.canonicalBytes), "?wait=soon", .badRequest, "api.bad_query"),
            ]
            for (headers, body, query, status, code) in cases {
                try await client.execute(uri: "/v1/transactions" + query, method: .post, headers: headers, body: body) { response in
                    #expect(response.status == status, "\(code)")
                    #expect(response.code == code)
                    #expect(response.isProblem)
                    #expect(response.json?["type"] as? String == "urn:kizuna:problem:\(code)")
                }
            }
            // The node still serves, and the good transaction is still accepted.
            try await client.execute(uri: "/v1/status", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: good.canonicalBytes)) { response in
                #expect(response.status == .accepted)
            }
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: good.canonicalBytes)) { response in
                #expect(response.status == .conflict)
                #expect(response.code == "tx.duplicate")
            }
            try await client.execute(uri: "/v1/transactions/\(good.id.hex)", method: .get) { response in
                #expect(response.status == .accepted)
                #expect(response.json?["status"] as? String == "pending")
            }
            try await client.execute(uri: "/v1/transactions/\(String(repeating: "ab", count: 32))", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.unknown_transaction")
            }
            try await client.execute(uri: "/v1/transactions/xyz", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.code == "api.bad_transaction_id")
            }
        }
    }

    @Test func fullMempoolAnswers503WithRetryAfter() async throws {
        // populate() submits three transactions per block at most.
        let fixture = try APIFixture { $0.mempoolTransactionsMax = 3 }
        try await fixture.populate()
        var one = TransactionBuilder(chainId: F.chainId, key: F.resident1, nextNonce: 1)
        var two = TransactionBuilder(chainId: F.chainId, key: F.resident2, nextNonce: 1)
        let firsts = (0..<3).map { _ in one.pay(merchant: F.merchant.publicKey, amount: 1) }
        let second = two.pay(merchant: F.merchant.publicKey, amount: 1)
        let octet: HTTPFields = [.contentType: "application/octet-stream"]
        try await fixture.application().test(.router) { client in
            for first in firsts {
                try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: first.canonicalBytes)) { #expect($0.status == .accepted) }
            }
            try await client.execute(uri: "/v1/transactions", method: .post, headers: octet, body: ByteBuffer(bytes: second.canonicalBytes)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.code == "mempool.full")
                #expect(response.headers[.retryAfter] == "1")
            }
        }
    }

    // MARK: - Accounts and access

    @Test func accountReadableByItsOwnKeyAndByMembers() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let address = F.resident1.publicKey.address.description
        let path = "/v1/accounts/\(address)"
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: path, method: .get, headers: fixture.signed(F.resident1, path)) { response in
                #expect(response.status == .ok)
                let json = try #require(response.json)
                #expect(json["role"] as? String == "resident")
                #expect(json["nonce"] as? Int == 1)
                #expect(json["frozen"] as? Bool == false)
                let balances = try #require(json["balances"] as? [[String: Any]])
                let coin = try #require(balances.first { $0["asset"] as? String == "coin" })
                // 10,000 charged + 300 received − 1,100 paid in coins (the payment spent the
                // 100-point charge bonus first).
                #expect(coin["amount"] as? Int == 9_200)
                #expect(coin["expiresAt"] != nil)
                let point = try #require(balances.first { $0["asset"] as? String == "point" })
                let lots = try #require(point["lots"] as? [[String: Any]])
                #expect(lots.reduce(0) { $0 + ($1["amount"] as? Int ?? 0) } == point["amount"] as? Int)
                #expect(lots.contains { $0["program"] as? Int == 1 && $0["amount"] as? Int == 500 && $0["expiresAt"] != nil })
            }
            try await client.execute(uri: path, method: .get, headers: F.bearer(F.memberToken)) { #expect($0.status == .ok) }
            try await client.execute(uri: path, method: .get, headers: F.bearer(F.auditorToken)) { #expect($0.status == .ok) }
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.required")
            }
            try await client.execute(uri: path, method: .get, headers: fixture.signed(F.resident2, path)) { response in
                #expect(response.status == .forbidden)
                #expect(response.code == "auth.forbidden")
            }
            // Merchants' balances carry no lots.
            let merchantPath = "/v1/accounts/\(F.merchant.publicKey.address)"
            try await client.execute(uri: merchantPath, method: .get, headers: fixture.signed(F.merchant, merchantPath)) { response in
                let balances = response.json?["balances"] as? [[String: Any]] ?? []
                #expect(balances.first { $0["asset"] as? String == "coin" }?["amount"] as? Int == 1_100)
                #expect(balances.first { $0["asset"] as? String == "point" }?["amount"] as? Int == 100)
            }
            // An unregistered key asking about itself.
            let strangerPath = "/v1/accounts/\(F.resident3.publicKey.address)"
            try await client.execute(uri: strangerPath, method: .get, headers: fixture.signed(F.resident3, strangerPath)) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.unknown_account")
            }
            try await client.execute(uri: "/v1/accounts/kz1nonsense", method: .get, headers: F.bearer(F.memberToken)) { response in
                #expect(response.status == .badRequest)
                #expect(response.code == "api.bad_address")
            }
        }
    }

    @Test func signedRequestErrors() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let path = "/v1/accounts/\(F.resident1.publicKey.address)"
        try await fixture.application().test(.router) { client in
            // Stale: more than 60 s from the node's clock, either way.
            for offset in [Int64(-61_000), 61_000] {
                let headers = fixture.signed(F.resident1, path, at: UInt64(Int64(fixture.now) + offset))
                try await client.execute(uri: path, method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.code == "auth.stale_timestamp")
                }
            }
            // Within the window: accepted once, refused when replayed.
            let headers = fixture.signed(F.resident1, path, at: fixture.now - 59_000)
            try await client.execute(uri: path, method: .get, headers: headers) { #expect($0.status == .ok) }
            try await client.execute(uri: path, method: .get, headers: headers) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.replayed")
            }
            // Signed for another target (a different query) does not verify here.
            let other = fixture.signed(F.resident1, path + "?x=1")
            try await client.execute(uri: path, method: .get, headers: other) { response in
                #expect(response.code == "auth.bad_signature")
            }
            var broken = fixture.signed(F.resident1, path)
            broken[HTTPField.Name("Kizuna-Signature")!] = "00"
            try await client.execute(uri: path, method: .get, headers: broken) { #expect($0.code == "auth.bad_signature") }
            var incomplete = fixture.signed(F.resident1, path)
            incomplete[HTTPField.Name("Kizuna-Timestamp")!] = nil
            try await client.execute(uri: path, method: .get, headers: incomplete) { #expect($0.code == "auth.incomplete_signature") }
            var badTime = fixture.signed(F.resident1, path)
            badTime[HTTPField.Name("Kizuna-Timestamp")!] = "yesterday"
            try await client.execute(uri: path, method: .get, headers: badTime) { #expect($0.code == "auth.bad_timestamp") }
            var badAddress = fixture.signed(F.resident1, path)
            badAddress[HTTPField.Name("Kizuna-Address")!] = "kz1abc"
            try await client.execute(uri: path, method: .get, headers: badAddress) { #expect($0.code == "auth.bad_address") }
            // Someone claiming resident-1's address with resident-2's key.
            var impostor = fixture.signed(F.resident2, path)
            impostor[HTTPField.Name("Kizuna-Address")!] = F.resident1.publicKey.address.description
            try await client.execute(uri: path, method: .get, headers: impostor) { #expect($0.code == "auth.bad_signature") }
        }
    }

    @Test func aResidentCannotReadAnotherResidentsHistory() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let theirs = "/v1/accounts/\(F.resident1.publicKey.address)/transactions"
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: theirs, method: .get, headers: fixture.signed(F.resident2, theirs)) { response in
                #expect(response.status == .forbidden)
                #expect(response.code == "auth.forbidden")
                #expect(!response.text.contains("1200"))
            }
            try await client.execute(uri: theirs, method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.required")
            }
            // The merchant who was paid by resident-1 cannot read resident-1's history either.
            try await client.execute(uri: theirs, method: .get, headers: fixture.signed(F.merchant, theirs)) { #expect($0.status == .forbidden) }
            // The resident reads their own.
            try await client.execute(uri: theirs, method: .get, headers: fixture.signed(F.resident1, theirs)) { response in
                #expect(response.status == .ok)
                let items = response.json?["transactions"] as? [[String: Any]] ?? []
                let kinds = items.map { ($0["transaction"] as? [String: Any])?["kind"] as? String ?? "" }
                #expect(kinds == ["grant", "send", "pay", "charge", "register"])
                #expect(response.json?["nextBefore"] == nil)
            }
        }
    }

    @Test func historyIsPaginated() async throws {
        let fixture = try APIFixture { $0.api.pageSizeMax = 3 }
        try await fixture.populate()
        let base = "/v1/accounts/\(F.resident1.publicKey.address)/transactions"
        try await fixture.application().test(.router) { client in
            // Exactly `limit` per page, cut inside block 3 (it holds two of resident-1's), and
            // each page continues right after the last one: no repeat, no gap.
            var pages: [[Int?]] = []
            var cursor: String?
            repeat {
                let uri = base + "?limit=2" + (cursor.map { "&before=\($0)" } ?? "")
                cursor = try await client.execute(uri: uri, method: .get, headers: F.bearer(F.memberToken)) { response in
                    #expect(response.status == .ok)
                    #expect(response.json?["blocksScanned"] == nil)
                    let items = response.json?["transactions"] as? [[String: Any]] ?? []
                    pages.append(items.map { $0["height"] as? Int })
                    return response.json?["nextBefore"] as? String
                }
            } while cursor != nil && pages.count < 5
            #expect(pages == [[5, 3], [3, 2], [1]])
            // The cursors are height:index; a plain height still works (blocks below it).
            try await client.execute(uri: base + "?limit=2", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.json?["nextBefore"] as? String == "3:1") }
            try await client.execute(uri: base + "?limit=3&before=3", method: .get, headers: F.bearer(F.memberToken)) { response in
                let items = response.json?["transactions"] as? [[String: Any]] ?? []
                #expect(items.map { $0["height"] as? Int } == [2, 1])
                #expect(response.json?["nextBefore"] == nil)
            }
            try await client.execute(uri: base + "?limit=3&before=3:1", method: .get, headers: F.bearer(F.memberToken)) { response in
                let items = response.json?["transactions"] as? [[String: Any]] ?? []
                #expect(items.map { "\($0["height"] as? Int ?? -1):\($0["index"] as? Int ?? -1)" } == ["3:0", "2:0", "1:0"])
            }
            try await client.execute(uri: base + "?before=3:x", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.bad_query") }
            // The document's bounds, exactly: 19 digits of height and 9 of index pass (an index
            // past the block's transactions means the whole block), 20 and 10 are refused.
            try await client.execute(uri: base + "?before=9999999999999999999:999999999", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.status == .ok) }
            try await client.execute(uri: base + "?before=6:6889777430", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.bad_query") }
            try await client.execute(uri: base + "?before=10000000000000000000", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.bad_query") }
            try await client.execute(uri: base + "?before=%2B3", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.bad_query") }
            try await client.execute(uri: base + "?limit=4", method: .get, headers: F.bearer(F.memberToken)) { response in
                #expect(response.status == .badRequest)
                #expect(response.code == "api.bad_limit")
            }
            try await client.execute(uri: base + "?limit=0", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.bad_limit") }
            try await client.execute(uri: base + "?before=top", method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.bad_query") }
            let stranger = "/v1/accounts/\(F.resident3.publicKey.address)/transactions"
            try await client.execute(uri: stranger, method: .get, headers: F.bearer(F.memberToken)) { #expect($0.code == "api.unknown_account") }
        }
    }

    // MARK: - Supply, programs, reports

    @Test func supplyAndProgramsAtAnyHeight() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/supply", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["height"] as? Int == 5)
                let assets = response.json?["assets"] as? [[String: Any]] ?? []
                #expect(assets.first { $0["asset"] as? String == "coin" }?["minted"] as? Int == 15_000)
            }
            try await client.execute(uri: "/v1/supply?height=1", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["height"] as? Int == 1)
                let assets = response.json?["assets"] as? [[String: Any]] ?? []
                #expect(assets.first { $0["asset"] as? String == "coin" }?["minted"] as? Int == 0)
            }
            try await client.execute(uri: "/v1/supply?height=6", method: .get) { #expect($0.code == "api.no_such_block") }
            try await client.execute(uri: "/v1/supply?height=-1", method: .get) { #expect($0.code == "api.bad_height") }
            try await client.execute(uri: "/v1/programs", method: .get) { response in
                let programs = response.json?["programs"] as? [[String: Any]] ?? []
                // Program 0 funds charge bonuses (1% of 15,000); program 1 is the city's.
                #expect(programs.map { $0["id"] as? Int } == [0, 1])
                #expect(programs.first?["granted"] as? Int == 150)
                #expect(programs.last?["granted"] as? Int == 500)
            }
            try await client.execute(uri: "/v1/programs/1", method: .get) { response in
                #expect(response.status == .ok)
                #expect((response.json?["program"] as? [String: Any])?["remaining"] as? Int == 99_500)
            }
            try await client.execute(uri: "/v1/programs/1?height=4", method: .get) { response in
                #expect((response.json?["program"] as? [String: Any])?["granted"] as? Int == 0)
            }
            try await client.execute(uri: "/v1/programs/1?height=3", method: .get) { #expect($0.code == "api.unknown_program") }
            try await client.execute(uri: "/v1/programs/9", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.unknown_program")
            }
            try await client.execute(uri: "/v1/programs/green", method: .get) { #expect($0.code == "api.bad_program_id") }
        }
    }

    @Test func reports() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        var merchant = TransactionBuilder(chainId: F.chainId, key: F.merchant, nextNonce: 0)
        try await fixture.commit([merchant.redeem(reference: "bank-1")])
        let settlements = "/v1/reports/settlements/\(F.merchant.publicKey.address)"
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/reports/unused-balance?date=2027-03-31", method: .get) { response in
                #expect(response.status == .ok)
                let report = response.json?["report"] as? [String: Any]
                #expect(report?["outstandingYen"] as? Int == 13_900)
                #expect(report?["closed"] as? Bool == false)
            }
            try await client.execute(uri: "/v1/reports/unused-balance?date=2027-03-31&height=2", method: .get) { response in
                #expect((response.json?["report"] as? [String: Any])?["outstandingYen"] as? Int == 15_000)
            }
            try await client.execute(uri: "/v1/reports/unused-balance?date=2027-04-01", method: .get) { #expect($0.code == "api.bad_date") }
            try await client.execute(uri: "/v1/reports/unused-balance?date=31/03/2027", method: .get) { #expect($0.code == "api.bad_date") }
            try await client.execute(uri: "/v1/reports/unused-balance", method: .get) { #expect($0.code == "api.bad_date") }
            try await client.execute(uri: settlements, method: .get, headers: fixture.signed(F.merchant, settlements)) { response in
                #expect(response.status == .ok)
                let statement = response.json?["statement"] as? [String: Any]
                #expect((statement?["settlements"] as? [Any])?.count == 1)
            }
            try await client.execute(uri: settlements, method: .get) { #expect($0.code == "auth.required") }
            try await client.execute(uri: settlements, method: .get, headers: fixture.signed(F.resident1, settlements)) { #expect($0.code == "auth.forbidden") }
            let notMerchant = "/v1/reports/settlements/\(F.resident1.publicKey.address)"
            try await client.execute(uri: notMerchant, method: .get, headers: F.bearer(F.auditorToken)) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.unknown_merchant")
            }
            // The payment's day is still open (the tip is on it): nothing is published.
            try await client.execute(uri: "/v1/reports/aggregates?from=2026-01-01&to=2026-12-31", method: .get) { response in
                #expect(response.status == .ok)
                let aggregates = response.json?["aggregates"] as? [String: Any]
                #expect((aggregates?["days"] as? [Any])?.count == 0)
            }
            // A block on a later day closes it: one paying resident, every cell suppressed.
            fixture.blockMilliseconds.withLock { $0 += 86_400_000 }
            try await fixture.commit([])
            try await client.execute(uri: "/v1/reports/aggregates?from=2026-01-01&to=2026-12-31", method: .get) { response in
                #expect(response.status == .ok)
                let aggregates = response.json?["aggregates"] as? [String: Any]
                let days = aggregates?["days"] as? [[String: Any]] ?? []
                #expect(days.count == 1)
                #expect((days.first?["total"] as? [String: Any])?["suppressed"] as? Bool == true)
                let categories = days.first?["byMerchantCategory"] as? [[String: Any]] ?? []
                #expect(categories.first?["key"] as? String == "restaurant")
                #expect(categories.first?["suppressed"] as? Bool == true)
                #expect(categories.first?["yen"] == nil)
            }
            try await client.execute(uri: "/v1/reports/aggregates?from=2025-01-01&to=2026-12-31", method: .get) { #expect($0.code == "api.bad_date") }
            try await client.execute(uri: "/v1/reports/aggregates?from=2026-05-01&to=2026-04-01", method: .get) { #expect($0.code == "api.bad_date") }
            try await client.execute(uri: "/v1/reports/aggregates?from=2026-04-01", method: .get) { #expect($0.code == "api.bad_date") }
        }
    }

    @Test func historicalQueriesAreBounded() async throws {
        let fixture = try APIFixture { $0.api.historicalQueriesMax = 0 }
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/supply", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/supply?height=2", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.code == "api.busy")
                #expect(response.headers[.retryAfter] != nil)
            }
        }
    }

    // MARK: - Events

    @Test func eventStreamOfBlocksAndOfOneAccountsReceipts() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/events?from=2&limit=2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = response.text
                #expect(text.contains("id: 2\nevent: block\ndata: {"))
                #expect(text.contains("id: 3\nevent: block\n"))
                #expect(!text.contains("id: 4\n"))
            }
            try await client.execute(uri: "/v1/events?limit=1", method: .get, headers: [HTTPField.Name("Last-Event-ID")!: "4"]) { response in
                #expect(response.text.contains("id: 5\nevent: block\n"))
            }
            let watch = "/v1/events?account=\(F.merchant.publicKey.address)&from=1&limit=1"
            try await client.execute(uri: watch, method: .get, headers: fixture.signed(F.merchant, watch)) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("event: receipt"))
                #expect(response.text.contains("\"kind\":\"register\""))
            }
            let watchPay = "/v1/events?account=\(F.merchant.publicKey.address)&from=2&limit=1"
            try await client.execute(uri: watchPay, method: .get, headers: fixture.signed(F.merchant, watchPay)) { response in
                #expect(response.text.contains("\"kind\":\"pay\""))
                #expect(response.text.contains("\"amount\":1200"))
            }
            let theirs = "/v1/events?account=\(F.resident1.publicKey.address)&limit=1"
            try await client.execute(uri: theirs, method: .get) { #expect($0.code == "auth.required") }
            try await client.execute(uri: theirs, method: .get, headers: fixture.signed(F.resident2, theirs)) { #expect($0.code == "auth.forbidden") }
            try await client.execute(uri: "/v1/events?limit=0", method: .get) { #expect($0.code == "api.bad_limit") }
            try await client.execute(uri: "/v1/events?from=zero", method: .get) { #expect($0.code == "api.bad_height") }
            try await client.execute(uri: "/v1/events?account=kz1x", method: .get) { #expect($0.code == "api.bad_address") }
        }
    }

    @Test func eventSubscribersAreBounded() async throws {
        let fixture = try APIFixture { $0.api.eventSubscribersMax = 0 }
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/events", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.code == "api.too_many_subscribers")
                #expect(response.headers[.retryAfter] == "5")
            }
        }
    }

    // MARK: - Limits and unknown routes

    @Test func requestsPerClientAreRateLimited() async throws {
        let fixture = try APIFixture {
            $0.api.requestsPerSecondPerClient = 1
            $0.api.requestBurstPerClient = 2
        }
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/status", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/status", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.code == "api.rate_limited")
                #expect(response.headers[.retryAfter] == "1")
            }
            // Health probes are never limited.
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func rateLimiterMapIsBounded() {
        let limiter = RateLimiter(ratePerSecond: 1, burst: 1, clientsMax: 2)
        #expect(limiter.take(client: "a", nowNanoseconds: 0) == nil)
        #expect(limiter.take(client: "b", nowNanoseconds: 0) == nil)
        // Both buckets are empty (busy clients): a third client is refused, not remembered.
        #expect(limiter.take(client: "c", nowNanoseconds: 0) == 1)
        // After they refill, idle clients are forgotten to make room.
        #expect(limiter.take(client: "c", nowNanoseconds: 2_000_000_000) == nil)
    }

    @Test func oversizedHeadersUnknownRoutesAndMethods() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/status", method: .get, headers: [HTTPField.Name("X-Padding")!: String(repeating: "a", count: 20_000)]) { response in
                #expect(response.status.code == 431)
                #expect(response.code == "api.headers_too_large")
            }
            try await client.execute(uri: "/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.no_such_route")
            }
            try await client.execute(uri: "/v1/status", method: .delete) { response in
                #expect(response.isProblem)
                #expect(response.status == .notFound || response.status == .methodNotAllowed)
            }
        }
    }

    // MARK: - Scheme, configuration, document

    @Test func walletAndNodeSignTheSameRequestMessage() {
        let wallet = RequestSigner.message(chainId: "local-x", method: "GET", target: "/v1/accounts/kz1?limit=2", timestampMilliseconds: 1_777_000_000_000, body: [1, 2])
        let node = RequestSignatureScheme.message(chainId: "local-x", method: "GET", target: "/v1/accounts/kz1?limit=2", timestampMilliseconds: 1_777_000_000_000, body: [1, 2])
        #expect(wallet == node)
        #expect(wallet.starts(with: Array("KIZUNA/REQUEST/V1".utf8) + [0]))
    }

    @Test func configurationAccessSection() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-config-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func load(_ text: String) -> Result<NodeConfiguration, NodeConfiguration.ConfigurationError> {
            let path = folder.appendingPathComponent("node.json").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            do { return .success(try NodeConfiguration.load(path: path)) } catch { return .failure(error) }
        }
        let paths = #""dataDirectory": "d", "genesisFile": "g.json", "validatorKeyFile": "k.json""#
        // Old files without an access section still load, with the defaults.
        let plain = try load("{\(paths), \"api\": {\"host\": \"127.0.0.1\", \"port\": 9000}}").get()
        #expect(plain.access == NodeConfiguration.Access())
        #expect(plain.api.pageSizeMax == NodeConfiguration.defaults.api.pageSizeMax)
        let digest = Hash.sha256(Array("secret".utf8)).hex
        let full = try load("{\(paths), \"api\": {\"port\": 9000, \"pageSizeMax\": 50}, \"access\": {\"credentials\": [{\"name\": \"chamber\", \"role\": \"member\", \"tokenSha256\": \"\(digest)\"}]}}").get()
        #expect(full.access.credentials.first?.role == .member)
        #expect(full.api.pageSizeMax == 50)
        #expect(full.api.host == "127.0.0.1")
        func code(_ text: String) -> String? {
            if case .failure(let error) = load(text) { return error.code.rawValue }
            return nil
        }
        #expect(code("{\(paths), \"access\": {\"credential\": []}}") == "config.unknown_field")
        #expect(code("{\(paths), \"api\": {\"prot\": 1}}") == "config.unknown_field")
        #expect(code("{\(paths), \"access\": {\"credentials\": [{\"name\": \"a\", \"role\": \"member\", \"tokenSha256\": \"\(digest)\", \"token\": \"secret\"}]}}") == "config.unknown_field")
        #expect(code("{\(paths), \"access\": {\"credentials\": [{\"name\": \"a\", \"role\": \"member\", \"tokenSha256\": \"secret\"}]}}") == "config.invalid_value")
        #expect(code("{\(paths), \"access\": {\"credentials\": [{\"name\": \"a\", \"role\": \"king\", \"tokenSha256\": \"\(digest)\"}]}}") != nil)
        #expect(code("{\(paths), \"api\": {\"pageSizeMax\": 0}}") == "config.invalid_value")
        // The bound of the deferred set (Node+Consensus.swift): a setting with a default, range-checked.
        #expect(plain.deferredTransactionsMax == NodeConfiguration.deferredTransactionsMaxDefault)
        #expect(try load("{\(paths), \"deferredTransactionsMax\": 5}").get().deferredTransactionsMax == 5)
        #expect(code("{\(paths), \"deferredTransactionsMax\": -1}") == "config.invalid_value")
        // The state tree's cached depth (ADR 0022): 20 by default, 0–22 accepted.
        #expect(plain.stateTreeCacheLevels == 20)
        #expect(try load("{\(paths), \"stateTreeCacheLevels\": 16}").get().stateTreeCacheLevels == 16)
        #expect(code("{\(paths), \"stateTreeCacheLevels\": 23}") == "config.invalid_value")
        // RocksDB's block cache: 256 MiB by default, 16–65536 accepted.
        #expect(plain.blockCacheMiB == 256)
        #expect(try load("{\(paths), \"blockCacheMiB\": 2048}").get().blockCacheMiB == 2048)
        #expect(code("{\(paths), \"blockCacheMiB\": 8}") == "config.invalid_value")
        #expect(plain.stateValueCacheMiB == 256)
        #expect(try load("{\(paths), \"stateValueCacheMiB\": 0}").get().stateValueCacheMiB == 0)
        #expect(code("{\(paths), \"stateValueCacheMiB\": 70000}") == "config.invalid_value")
        // The close compaction's limit (ADR 0030): 128 MiB by default, 0 (never) to 65536.
        #expect(plain.stateCompactionAtCloseMiB == 128)
        #expect(try load("{\(paths), \"stateCompactionAtCloseMiB\": 0}").get().stateCompactionAtCloseMiB == 0)
        #expect(code("{\(paths), \"stateCompactionAtCloseMiB\": -1}") == "config.invalid_value")
        #expect(code("{\(paths), \"stateCompactionAtCloseMiB\": 70000}") == "config.invalid_value")
    }
}
