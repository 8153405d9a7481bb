import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import KizunaCore
import KizunaNode
import KizunaWallet

/// Premium sales, collections and standing orders over the API (issue 18, docs/api.md §11).
@Suite("Town API")
struct TownAPITests {
    typealias F = APIFixture
    static let club = DevelopmentKeys.privateKey("resident-3")

    @Test("premiums and collections are open; a resident's standing orders are read like its balance")
    func reports() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        var registrar = TransactionBuilder(chainId: F.chainId, key: F.registrar, nextNonce: 3)
        var city = TransactionBuilder(chainId: F.chainId, key: F.city, nextNonce: 2)
        var issuer = TransactionBuilder(chainId: F.chainId, key: F.coinIssuer, nextNonce: 2)
        var one = TransactionBuilder(chainId: F.chainId, key: F.resident1, nextNonce: 1)
        try await fixture.commit([
            registrar.register(Self.club.publicKey, role: .organisation, merchantCategory: OrganisationKind.club),
            city.createProgram(CreateProgram(asset: .point, name: "premium", funder: F.city.publicKey, budgetYen: 10_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 3_000)),
        ])
        let month = CivilTime.japanYearMonth(milliseconds: fixture.blockMilliseconds.withLock { $0 })
        try await fixture.commit([city.setPremium(program: 2, rule: PremiumRule(unitYen: 1_000, premiumPerUnitYen: 300))])
        let order = one.authoriseStandingOrder(AuthoriseStandingOrder(payee: Self.club.publicKey, capYen: 400, purpose: .fee, reference: "member-9",
                                                                      schedule: StandingOrderSchedule(firstMonth: month, dayOfMonth: 1)))
        try await fixture.commit([
            order,
            issuer.chargeExtended(to: F.resident2.publicKey, amount: 1_000, channel: 1, receiptId: "p-1", premiumProgram: 2),
            one.payPublic(to: Self.club.publicKey, amount: 500, purpose: .donation, reference: "gift"),
        ])
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/reports/premiums", method: .get) { response in
                let sales = response.json?["premiums"] as? [[String: Any]]
                #expect(sales?.count == 1 && sales?[0]["paidYen"] as? Int == 1_000 && sales?[0]["premiumYen"] as? Int == 300)
            }
            try await client.execute(uri: "/v1/reports/collections", method: .get) { response in
                let rows = response.json?["collections"] as? [[String: Any]]
                #expect(rows?.count == 1 && rows?[0]["purpose"] as? String == "donation" && rows?[0]["kind"] as? String == "club" && rows?[0]["amountYen"] as? Int == 500)
            }
            try await client.execute(uri: "/v1/reports/collections?month=2026-13", method: .get) { #expect($0.status == .badRequest && $0.code == "api.bad_date") }
            // A sign is not a digit: the document's pattern refuses it, so the node does too.
            try await client.execute(uri: "/v1/reports/collections?month=%2B026-07", method: .get) { #expect($0.status == .badRequest && $0.code == "api.bad_date") }
            let path = "/v1/accounts/\(F.resident1.publicKey.address)/standing-orders"
            try await client.execute(uri: path, method: .get, headers: fixture.signed(F.resident1, path)) { response in
                let orders = response.json?["standingOrders"] as? [[String: Any]]
                #expect(orders?.count == 1 && orders?[0]["id"] as? String == order.id.hex && orders?[0]["status"] as? String == "active" && orders?[0]["capYen"] as? Int == 400)
            }
            try await client.execute(uri: path, method: .get) { #expect($0.status == .unauthorized && $0.code == "auth.required") }
            try await client.execute(uri: path, method: .get, headers: fixture.signed(F.resident2, path)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: path, method: .get, headers: F.bearer(F.auditorToken)) { #expect($0.status == .ok) }
        }
    }
}
