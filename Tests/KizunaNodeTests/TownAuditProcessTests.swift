import Foundation
import Testing
import KizunaCore
import KizunaWallet

/// Issue 18, must-be-true 3, on real processes: a `kizuna node` on 127.0.0.1 with a genesis
/// that requires the resident-ID hash and defines a third charge channel; every issue-18 kind
/// built and submitted with the `kizuna wallet` CLI (and a policy amendment with `kizuna
/// governance`), each checked committed through the API; then `kizuna audit --height H` of
/// the node's data folder, and every report the audit writes is compared, field by field,
/// with the node's own answer at `?height=H`.
@Suite("kizuna audit reproduces the node's reports (issue 18 kinds, real processes)", .serialized)
struct TownAuditProcessTests {
    static let auditorToken = "town-audit-auditor-token"

    /// A running node, its folder, and the `kizuna` CLI pointed at it.
    struct Town {
        let node: NodeProcess
        let genesisPath: String
        var url: String { "http://127.0.0.1:\(node.port)" }
        var auditor: NodeClient { node.client.authenticated(.bearer(TownAuditProcessTests.auditorToken)) }

        func keyFile(_ key: PrivateKey, _ name: String) throws -> String {
            let path = node.folder.appendingPathComponent("\(name).key.json").path
            if !FileManager.default.fileExists(atPath: path) { try KeyFile(key: key).write(path: path) }
            return path
        }

        /// Runs `kizuna wallet …` signed by `key`; expects exit 0 and a committed transaction,
        /// and checks it through `GET /v1/transactions/{id}`. Returns the transaction id.
        @discardableResult
        func wallet(_ arguments: [String], _ key: PrivateKey, _ name: String) async throws -> String {
            let run = try NetworkProcessTests.runCLI(["wallet"] + arguments + ["--node", url, "--key", try keyFile(key, name)])
            return try await committed(run, arguments.joined(separator: " "))
        }

        func committed(_ run: (status: Int32, output: String), _ what: String) async throws -> String {
            #expect(run.status == 0, "\(what): \(run.output)")
            let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("{") }, "\(what): \(run.output)")
            let reply = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = try #require(reply["id"] as? String, "\(what): \(run.output)")
            let status = try await auditor.get("v1/transactions/\(id)").json
            #expect(status?["status"] as? String == "committed", "\(what): \(status ?? [:])")
            return id
        }

        /// The node's report body at `height` (`{"height": h, name: report}`): the report.
        func report(_ path: String, _ name: String) async throws -> Any {
            let reply = try await auditor.get(path)
            #expect(reply.statusCode == 200, "\(path): \(reply.text)")
            let json = try #require(reply.json, "\(path): \(reply.text)")
            return try #require(json[name], "\(path): \(reply.text)")
        }
    }

    static func address(_ key: PrivateKey) -> String { key.publicKey.address.description }

    @Test func everyReportOfTheAuditEqualsTheNodesAtTheSameHeight() async throws {
        let node = try NodeProcess(name: "town-audit")
        defer { node.remove() }
        // The genesis: residents need their salted ID hash; a bank-transfer channel with a 3% bonus.
        var genesis = node.genesis
        genesis.registrationPolicy = RegistrationPolicy(residentIdRequired: true)
        genesis.chargeChannels = [
            ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 0), ChargeChannelDefinition(id: 2, name: "charge_machine", bonusBasisPoints: 0),
            ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 300),
        ]
        let genesisPath = node.folder.appendingPathComponent("genesis.json").path
        try genesis.jsonData().write(to: URL(fileURLWithPath: genesisPath))
        let configurationURL = node.folder.appendingPathComponent("node.json")
        var configuration = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configurationURL)) as? [String: Any])
        configuration["access"] = ["credentials": [["name": "audit-office", "role": "auditor", "tokenSha256": Hash.sha256(Array(Self.auditorToken.utf8)).hex]]]
        try JSONSerialization.data(withJSONObject: configuration).write(to: configurationURL)
        #expect(try await node.start(), "node did not start: \(node.log())")
        let town = Town(node: node, genesisPath: genesisPath)

        let registrar = NodeProcess.registrar, issuer = NodeProcess.coinIssuer, city = DevelopmentKeys.privateKey("city")
        let alice = DevelopmentKeys.privateKey("resident-1"), bob = DevelopmentKeys.privateKey("resident-2")
        let store = DevelopmentKeys.privateKey("merchant-1"), rival = DevelopmentKeys.privateKey("merchant-2")
        let hall = DevelopmentKeys.privateKey("city-tax-office"), club = DevelopmentKeys.privateKey("baseball-club")
        let platform = DevelopmentKeys.privateKey("participation-platform")
        let a = Self.address

        // Accounts: residents with their resident-ID hash (the genesis requires it), two
        // supermarkets, the city's collection account and a club.
        for (key, role, extra) in [
            (alice, "resident", ["--resident-id", "R-0001", "--salt", "5a17"]), (bob, "resident", ["--resident-id", "R-0002", "--salt", "5a17"]),
            (store, "merchant", ["--category", "supermarket"]), (rival, "merchant", ["--category", "supermarket"]),
            (hall, "organisation", ["--category", "public"]), (club, "organisation", ["--category", "club"]),
        ] {
            try await town.wallet(["register", "--account", a(key), "--role", role] + extra, registrar, "registrar")
        }
        try await town.wallet(["charge", "--to", a(alice), "--amount", "20000", "--receipt", "c-1"], issuer, "issuer")
        // charge_extended on the genesis-defined channel.
        try await town.wallet(["charge", "--to", a(bob), "--amount", "5000", "--receipt", "c-2", "--channel-id", "3"], issuer, "issuer")

        // Program 1: the participation platform grants through its delegate key, then is revoked.
        try await town.wallet(["create-program", "--name", "consultation points", "--budget", "10000", "--per-resident-cap", "3000"], city, "city")
        try await town.wallet(["appoint-delegate", "--program", "1", "--delegate", a(platform), "--budget", "2000", "--per-resident-cap", "1000", "--per-day-cap", "2000"], city, "city")
        try await town.wallet(["grant", "--program", "1", "--to", a(alice), "--amount", "500"], platform, "platform")
        try await town.wallet(["revoke-delegate", "--program", "1", "--delegate", a(platform)], city, "city")

        // Program 2: the store's own 10% campaign (funded by the store), for that store only,
        // on set dates, topped up, then closed.
        try await town.wallet(["create-program", "--name", "store campaign", "--funder", a(store), "--budget", "5000", "--per-resident-cap", "2000",
                               "--rebate", "supermarket:1000", "--rebate-monthly-cap", "1000"], issuer, "issuer")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        try await town.wallet(["set-program-terms", "--program", "2", "--starts", Self.rfc3339(now - 86_400_000), "--ends", Self.rfc3339(now + 30 * 86_400_000),
                               "--merchant", a(store)], issuer, "issuer")
        try await town.wallet(["top-up-program", "--program", "2", "--amount", "1000"], issuer, "issuer")

        // Program 3: a premium sale (¥200 per ¥1,000); program 4: a first-payment bonus.
        try await town.wallet(["create-program", "--name", "premium sale", "--budget", "10000", "--per-resident-cap", "3000", "--use-by", "2027-12-31"], city, "city")
        try await town.wallet(["set-premium", "--program", "3", "--unit", "1000", "--per-unit", "200"], city, "city")
        try await town.wallet(["charge", "--to", a(bob), "--amount", "2000", "--receipt", "p-1", "--premium-program", "3"], issuer, "issuer")
        try await town.wallet(["create-program", "--name", "welcome", "--budget", "5000", "--per-resident-cap", "1000"], city, "city")
        try await town.wallet(["set-event-bonus", "--program", "4", "--event", "first_payment", "--amount", "300"], city, "city")

        // Payments: rebated at the store, not at its rival; then the campaign closes.
        try await town.wallet(["pay", "--merchant", a(store), "--amount", "2000"], alice, "alice")
        try await town.wallet(["pay", "--merchant", a(rival), "--amount", "1000"], alice, "alice")
        try await town.wallet(["close-program", "--program", "2"], issuer, "issuer")

        // Paying the city and a club; a standing order authorised, collected once, cancelled.
        try await town.wallet(["pay-public", "--to", a(hall), "--amount", "3000", "--purpose", "tax", "--reference", "notice-1"], alice, "alice")
        try await town.wallet(["pay-public", "--to", a(club), "--amount", "500", "--purpose", "donation"], bob, "bob")
        let month = CivilTime.japanYearMonth(milliseconds: now)
        let order = try await town.wallet(["standing-order", "authorise", "--payee", a(hall), "--cap", "1000", "--purpose", "fee", "--reference", "water-7",
                                           "--first-month", "\(month)", "--day", "1", "--instalments", "3"], alice, "alice")
        try await town.wallet(["standing-order", "collect", "--id", order, "--payer", a(alice), "--amount", "800"], hall, "hall")
        try await town.wallet(["standing-order", "cancel", "--id", order, "--payee", a(hall)], alice, "alice")
        try await town.wallet(["redeem", "--reference", "bank-1"], store, "store")

        // A policy amendment: the coin holder cap raised from a future height.
        let folder = node.folder.path
        var coin = genesis.coin
        coin.holderCapYen += 50_000
        try JSONEncoder().encode(coin).write(to: URL(fileURLWithPath: "\(folder)/coin-policy.json"))
        let tip = try #require(try await node.client.status().json?["height"] as? Int)
        let effective = UInt64(tip) + 15
        let proposal = "\(folder)/proposal.json"
        let proposed = try NetworkProcessTests.runCLI(["governance", "propose", "--chain-id", genesis.chainId, "--effective-height", "\(effective)", "--asset", "coin",
                                                       "--policy", "\(folder)/coin-policy.json", "--out", proposal])
        #expect(proposed.status == 0, "\(proposed.output)")
        let signed = try NetworkProcessTests.runCLI(["governance", "sign", proposal, "--key", "\(folder)/validator.key.json"])
        #expect(signed.status == 0, "\(signed.output)")
        _ = try await town.committed(try NetworkProcessTests.runCLI(["governance", "submit", proposal, "--node", town.url, "--key", try town.keyFile(issuer, "issuer")]), "governance submit")
        var height: UInt64 = 0
        for _ in 0..<600 where height <= effective {
            height = UInt64(try await node.client.status().json?["height"] as? Int ?? 0)
            if height <= effective { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(height > effective, "the chain did not pass the amendment's height: \(node.log())")

        // The audit of the node's data folder (read-only, beside the running node) up to H.
        let auditPath = "\(folder)/audit.json"
        let audited = try NetworkProcessTests.runCLI(["audit", "--genesis", genesisPath, "--data", node.dataDirectory, "--height", "\(height)", "--json", auditPath,
                                                      "--markdown", "\(folder)/audit.md"])
        #expect(audited.status == 0 && audited.output.contains("ok: \(height) blocks"), "\(audited.output)")
        let audit = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: auditPath))) as? [String: Any])
        try await Self.compare(audit, town, height: height, genesis: genesis, addresses: (a(alice), a(bob), a(store), a(rival), a(hall), a(club), a(platform)))
        let markdown = try String(contentsOfFile: "\(folder)/audit.md", encoding: .utf8)
        for section in ["## Premium sales", "## Collections", "## Standing orders", "## Accounts by role", "## Asset policies in force"] {
            #expect(markdown.contains(section), "the Markdown report lacks \(section)")
        }
        node.stop()
    }

    /// Every report of the audit's JSON against the node's answer at `height`.
    static func compare(_ audit: [String: Any], _ town: Town, height: UInt64, genesis: Genesis,
                        addresses: (alice: String, bob: String, store: String, rival: String, hall: String, club: String, platform: String)) async throws {
        let at = "height=\(height)"
        // Field by field: both sides as parsed JSON, written back with sorted keys.
        func canonical(_ value: Any?) -> Data? {
            guard let value else { return nil }
            return try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys])
        }
        func same(_ name: String, _ fromAudit: Any?, _ fromNode: Any) {
            let equal = canonical(fromAudit) != nil && canonical(fromAudit) == canonical(fromNode)
            #expect(equal, "\(name): the audit says \(fromAudit ?? "nothing"), the node says \(fromNode)")
        }
        same("supply", audit["supply"], try await town.report("v1/supply?\(at)", "assets"))
        same("programs", audit["programs"], try await town.report("v1/programs?\(at)", "programs"))
        same("premiums", audit["premiums"], try await town.report("v1/reports/premiums?\(at)", "premiums"))
        same("collections", audit["collections"], try await town.report("v1/reports/collections?\(at)", "collections"))
        same("accounts", audit["accounts"], try await town.report("v1/reports/accounts?\(at)", "counts"))
        let balances = try #require(audit["unusedBalances"] as? [[String: Any]])
        #expect(!balances.isEmpty, "the chain (genesis 2026-04-01) passed a base date")
        for balance in balances {
            let date = try #require(balance["baseDate"] as? String)
            same("unused balance \(date)", balance, try await town.report("v1/reports/unused-balance?date=\(date)&\(at)", "report"))
        }
        let statements = try #require(audit["settlements"] as? [[String: Any]])
        #expect(statements.count == 2)
        for merchant in [addresses.store, addresses.rival] {
            same("settlements of \(merchant)", statements.first { $0["merchant"] as? String == merchant }, try await town.report("v1/reports/settlements/\(merchant)?\(at)", "statement"))
        }
        let orders = try #require(audit["standingOrders"] as? [[String: Any]])
        #expect(orders.count == 1)
        same("standing orders", orders, try await town.report("v1/accounts/\(addresses.alice)/standing-orders?\(at)", "standingOrders"))
        let aggregates = try #require(audit["aggregates"] as? [String: Any])
        let from = try #require(aggregates["fromDay"] as? Int), to = try #require(aggregates["toDay"] as? Int)
        func date(_ day: Int) -> String { String(format: "%04d-%02d-%02d", day / 10_000, day / 100 % 100, day % 100) }
        let nodeAggregates = try #require(try await town.report("v1/reports/aggregates?from=\(date(from))&to=\(date(to))&\(at)", "aggregates") as? [String: Any])
        for field in ["fromDay", "toDay", "closedThroughDay", "minimumResidents", "excludesWithdrawnConsent", "days"] {
            same("aggregates.\(field)", aggregates[field], nodeAggregates[field] as Any)
        }
        let governance = try #require(audit["governance"] as? [String: Any])
        let nodeGovernance = try #require(try await town.auditor.get("v1/governance?height=\(height + 1)").json)
        for field in ["height", "policyAmendments", "policies", "townAmendments", "chargeChannels", "categoryFees"] { same("governance.\(field)", governance[field], nodeGovernance[field] as Any) }

        // What the reports hold (so equality is not of two empty answers).
        let premiums = try #require(audit["premiums"] as? [[String: Any]])
        #expect(premiums.count == 1 && premiums[0]["paidYen"] as? Int == 2_000 && premiums[0]["premiumYen"] as? Int == 400, "\(premiums)")
        let collections = try #require(audit["collections"] as? [[String: Any]])
        let collected = Dictionary(collections.map { ("\($0["organisation"]!)/\($0["purpose"]!)", $0["amountYen"] as? Int ?? -1) }, uniquingKeysWith: +)
        #expect(collected == ["\(addresses.hall)/tax": 3_000, "\(addresses.hall)/fee": 800, "\(addresses.club)/donation": 500], "\(collections)")
        let programs = try #require(audit["programs"] as? [[String: Any]])
        let byId = Dictionary(programs.map { ($0["id"] as? Int ?? -1, $0) }, uniquingKeysWith: { first, _ in first })
        let delegates = byId[1]?["delegates"] as? [[String: Any]]
        #expect(delegates?.count == 1 && delegates?[0]["address"] as? String == addresses.platform && delegates?[0]["granted"] as? Int == 500 && delegates?[0]["revokedAt"] != nil)
        // Alice paid the store ¥2,000: her 500 platform points first, ¥1,500 in coins, 10% of
        // which is rebated; nothing at the rival.
        #expect(byId[2]?["granted"] as? Int == 150 && byId[2]?["toppedUp"] as? Int == 1_000 && byId[2]?["closedAt"] != nil && byId[2]?["merchants"] as? [String] == [addresses.store],
                "the store campaign rebated ¥150 at the store only: \(byId[2] ?? [:])")
        #expect(byId[4]?["granted"] as? Int == 300, "the first-payment bonus: \(byId[4] ?? [:])")
        #expect(orders[0]["paidYen"] as? Int == 800 && orders[0]["status"] as? String == "cancelled")
        let amendments = governance["policyAmendments"] as? [[String: Any]]
        #expect(amendments?.count == 1 && ((governance["policies"] as? [String: Any])?["coin"] as? [String: Any])?["holderCapYen"] as? Int == Int(genesis.coin.holderCapYen + 50_000))
        #expect((audit["accounts"] as? [String: Any])?["organisations"] as? Int == 2)
    }

    static func rfc3339(_ milliseconds: UInt64) -> String {
        let date = Date(timeIntervalSince1970: Double(milliseconds / 1000))
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
