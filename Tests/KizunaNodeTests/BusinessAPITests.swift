import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import KizunaCore
import KizunaNode
import KizunaWallet

/// Invoices, role counts and the settlement file over the API (issue 21, docs/api.md §10).
@Suite("Business API")
struct BusinessAPITests {
    typealias F = APIFixture
    static let farm = DevelopmentKeys.privateKey("resident-3")

    /// The populated chain, plus a farm (resident-3's key, registered as a business) billing
    /// the restaurant ¥800, which pays ¥300 of it; then the restaurant redeems.
    func billed() async throws -> (fixture: APIFixture, invoice: Hash) {
        let fixture = try APIFixture()
        try await fixture.populate()
        var registrar = TransactionBuilder(chainId: F.chainId, key: F.registrar, nextNonce: 3)
        var farm = TransactionBuilder(chainId: F.chainId, key: Self.farm, nextNonce: 0)
        var restaurant = TransactionBuilder(chainId: F.chainId, key: F.merchant, nextNonce: 0)
        try await fixture.commit([registrar.register(Self.farm.publicKey, role: .merchant, merchantCategory: "farm")])
        let invoice = farm.issueInvoice(payer: F.merchant.publicKey, amount: 800, dueAt: fixture.blockMilliseconds.withLock { $0 } + 7 * 86_400_000, reference: "F-1")
        try await fixture.commit([invoice])
        try await fixture.commit([restaurant.payInvoice(invoice.id, issuer: Self.farm.publicKey, amount: 300)])
        try await fixture.commit([restaurant.redeem(reference: "bank-1")])
        return (fixture, invoice.id)
    }

    @Test("an invoice is read by its issuer and its payer only: 401 anonymous, 403 member or auditor, 404 to any other key")
    func invoiceAccess() async throws {
        let (fixture, id) = try await billed()
        let path = "/v1/invoices/\(id.hex)"
        try await fixture.application().test(.router) { client in
            for party in [Self.farm, F.merchant] {
                try await client.execute(uri: path, method: .get, headers: fixture.signed(party, path)) { response in
                    #expect(response.status == .ok)
                    let invoice = response.json?["invoice"] as? [String: Any]
                    #expect(invoice?["status"] as? String == "partially_paid" && invoice?["paid"] as? Int == 300 && invoice?["outstanding"] as? Int == 500)
                    #expect(invoice?["reference"] as? String == "F-1")
                }
            }
            try await client.execute(uri: path, method: .get) { #expect($0.status == .unauthorized && $0.code == "auth.required") }
            try await client.execute(uri: path, method: .get, headers: F.bearer(F.memberToken)) { #expect($0.status == .forbidden && $0.code == "auth.forbidden") }
            try await client.execute(uri: path, method: .get, headers: F.bearer(F.auditorToken)) { #expect($0.code == "auth.forbidden") }
            try await client.execute(uri: path, method: .get, headers: fixture.signed(F.resident1, path)) { #expect($0.status == .notFound && $0.code == "api.unknown_invoice") }
            let unknown = "/v1/invoices/\(Hash.sha256([1]).hex)"
            try await client.execute(uri: unknown, method: .get, headers: fixture.signed(Self.farm, unknown)) { #expect($0.code == "api.unknown_invoice") }
            try await client.execute(uri: "/v1/invoices/xyz", method: .get, headers: fixture.signed(Self.farm, "/v1/invoices/xyz")) { #expect($0.code == "api.bad_invoice_id") }
            // The list: the account's own key only.
            let list = "/v1/accounts/\(F.merchant.publicKey.address)/invoices"
            try await client.execute(uri: list, method: .get, headers: fixture.signed(F.merchant, list)) { response in
                #expect(((response.json?["invoices"] as? [[String: Any]])?.map { $0["id"] as? String }) == [id.hex])
            }
            try await client.execute(uri: list, method: .get, headers: fixture.signed(Self.farm, list)) { #expect($0.code == "auth.forbidden") }
            try await client.execute(uri: list, method: .get, headers: F.bearer(F.auditorToken)) { #expect($0.code == "auth.forbidden") }
        }
    }

    @Test("role counts are open; the settlement file is CSV for the funder, members and auditors")
    func reports() async throws {
        let (fixture, _) = try await billed()
        let file = "/v1/reports/settlement-file?funder=\(F.coinIssuer.publicKey.address)&date=2026-04-01"
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/reports/accounts", method: .get) { response in
                let counts = response.json?["counts"] as? [String: Any]
                #expect(counts?["residents"] as? Int == 2 && counts?["merchants"] as? Int == 2 && counts?["visitors"] as? Int == 0)
            }
            try await client.execute(uri: file, method: .get, headers: F.bearer(F.auditorToken)) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/csv; charset=utf-8")
                let records = response.text.components(separatedBy: "\r\n")
                #expect(records.first?.hasPrefix("H,\(F.coinIssuer.publicKey.address),20260401,15:00,") == true)
                // The restaurant received ¥1,200 (100 in charge-bonus points, which the coin issuer
                // funds, and ¥1,100 in coins) and paid the farm ¥300: ¥800 of coins, 100 points.
                #expect(records.count == 5, "\(records)")
                #expect(records[1].hasPrefix("D,1,\(F.merchant.publicKey.address),restaurant,0,") && records[1].hasSuffix(",bank-1,coin,800,12,788"), "\(records)")
                #expect(records[2].hasPrefix("D,2,") && records[2].hasSuffix(",bank-1,point,100,1,99"))
                #expect(records[3] == "T,2,900,13,887" && records[4] == "")
            }
            try await client.execute(uri: file, method: .get, headers: fixture.signed(F.coinIssuer, file)) { #expect($0.status == .ok) }
            try await client.execute(uri: file, method: .get) { #expect($0.code == "auth.required") }
            try await client.execute(uri: file, method: .get, headers: fixture.signed(F.resident1, file)) { #expect($0.code == "auth.forbidden") }
            try await client.execute(uri: "/v1/reports/settlement-file?date=2026-04-01", method: .get, headers: F.bearer(F.auditorToken)) { #expect($0.code == "api.bad_query") }
        }
    }
}
