import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import KizunaCore
import KizunaNode
import KizunaAPI
@testable import KizunaConsole
import KizunaServer

/// The web console in process (docs/console.md): pages render from the fixture chain, member
/// pages need a sign-in with an API token, forms need their anti-forgery token and this
/// origin, public pages name no resident. The browser test (tools/console-check) runs the
/// same pages in Chromium against a real network.
@Suite struct ConsoleTests {
    typealias F = APIFixture

    static func application(_ fixture: APIFixture) throws -> some ApplicationProtocol {
        var logger = Logger(label: "console-test")
        logger.logLevel = .critical
        let console = try Console(node: fixture.node, logger: logger)
        return Application(router: APIServer.router(node: fixture.node, logger: logger, addRoutes: { console.addRoutes(to: $0) }))
    }

    /// The value of `name` in a response's Set-Cookie fields.
    static func cookie(_ response: TestResponse, _ name: String) -> String? {
        for field in response.headers[values: .setCookie] where field.hasPrefix(name + "=") {
            return String(field.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    static func setCookie(_ response: TestResponse, _ name: String) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix(name + "=") }
    }

    static func hidden(_ html: String, _ name: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func openPagesRenderWithoutResidents() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let residents = [F.resident1, F.resident2].map { $0.publicKey.address.description }
        try await Self.application(fixture).test(.router) { client in
            for path in ["/console/network", "/console/money", "/console/programs", "/console/statutory", "/console/network?lang=en", "/console/statutory?date=2026-09-30"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
                    let html = response.text
                    #expect(html.contains("<svg") || path.hasPrefix("/console/statutory"), "\(path) has a chart")
                    #expect(!html.contains("<script"), "\(path) carries no script")
                    for resident in residents { #expect(!html.contains(resident), "\(path) names resident \(resident)") }
                }
            }
            try await client.execute(uri: "/console/network", method: .get) { response in
                #expect(response.text.contains("<html lang=\"ja\">"))
                #expect(response.text.contains("ネットワーク"))
            }
            try await client.execute(uri: "/console/network?lang=en", method: .get) { response in
                #expect(response.text.contains("<html lang=\"en\">"))
                #expect(Self.setCookie(response, Console.languageCookie)?.contains("SameSite=Strict") == true)
            }
            // The statutory report equals the API's, at the height it names.
            var api: [String: Any] = [:]
            try await client.execute(uri: "/v1/reports/unused-balance?date=2027-03-31&height=5", method: .get) { response in
                api = try #require(response.json?["report"] as? [String: Any])
            }
            try await client.execute(uri: "/console/statutory?date=2027-03-31", method: .get) { response in
                #expect(response.text.contains("data-field=\"height\" data-value=\"5\""))
                for name in ["outstandingYen", "depositRequiredYen", "refundLimitFromUnusedYen"] {
                    let value = try #require(api[name] as? Int)
                    #expect(response.text.contains("data-field=\"\(name)\" data-value=\"\(value)\""), "\(name)")
                }
            }
            try await client.execute(uri: "/console/statutory?date=2027-04-01", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.text.contains("console.bad_date"))
            }
            try await client.execute(uri: "/console/money", method: .post) { #expect($0.status == .methodNotAllowed) }
        }
    }

    @Test func memberPagesNeedSignIn() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        try await Self.application(fixture).test(.router) { client in
            for path in ["/console/explorer", "/console/settlements", "/console/explorer/block/1"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(response.text.contains("console.sign_in_required"))
                }
            }
            // A sign-in page sets its anti-forgery cookie and puts the same value in the form.
            var csrf = ""
            try await client.execute(uri: "/console/signin?next=/console/explorer/block/2", method: .get) { response in
                csrf = try #require(Self.cookie(response, Console.signInCookie))
                #expect(Self.hidden(response.text, "csrf") == csrf)
                #expect(Self.setCookie(response, Console.signInCookie)?.contains("HttpOnly") == true)
            }
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: "\(Console.signInCookie)=\(csrf)"]
            // Without the token of the form: refused.
            try await client.execute(uri: "/console/signin", method: .post, headers: form, body: ByteBuffer(string: "token=\(F.memberToken)")) { response in
                #expect(response.status == .forbidden)
                #expect(response.text.contains("console.bad_csrf"))
            }
            // From another origin: refused.
            var foreign = form
            foreign[HTTPField.Name("Origin")!] = "http://evil.example"
            try await client.execute(uri: "/console/signin", method: .post, headers: foreign, body: ByteBuffer(string: "csrf=\(csrf)&token=\(F.memberToken)")) { response in
                #expect(response.status == .forbidden)
                #expect(response.text.contains("console.foreign_origin"))
            }
            // A wrong token: refused.
            try await client.execute(uri: "/console/signin", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(csrf)&token=guess")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.text.contains("console.bad_token"))
            }
            // The auditor's API token signs in and lands on the page asked for.
            var session = ""
            try await client.execute(uri: "/console/signin", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(csrf)&token=\(F.auditorToken)&next=%2Fconsole%2Fexplorer%2Fblock%2F2")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/console/explorer/block/2")
                session = try #require(Self.cookie(response, Console.sessionCookie))
                let field = try #require(Self.setCookie(response, Console.sessionCookie))
                #expect(field.contains("HttpOnly") && field.contains("SameSite=Strict") && !field.contains("Secure"))
            }
            let signedIn: HTTPFields = [.cookie: "\(Console.sessionCookie)=\(session)"]
            var sessionCSRF = ""
            try await client.execute(uri: "/console/explorer/block/3", method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
                let html = response.text
                #expect(html.contains("audit-office"))
                // The certificate: the one validator's signature, checked.
                #expect(html.contains("class=\"certificate\"") && html.contains("✓"))
                #expect(html.contains(F.resident1.publicKey.address.description.prefix(14)))
                sessionCSRF = try #require(Self.hidden(html, "csrf"))
            }
            for path in ["/console/explorer", "/console/settlements", "/console/settlements?merchant=\(F.merchant.publicKey.address)",
                         "/console/explorer/search?q=2", "/console/explorer/account/\(F.resident1.publicKey.address)"] {
                try await client.execute(uri: path, method: .get, headers: signedIn) { #expect($0.status == .ok, "\(path)") }
            }
            try await client.execute(uri: "/console/explorer/search?q=zzz", method: .get, headers: signedIn) { response in
                #expect(response.status == .badRequest)
                #expect(response.text.contains("console.bad_query"))
            }
            try await client.execute(uri: "/console/explorer/block/99", method: .get, headers: signedIn) { #expect($0.status == .notFound) }
            // Sign-out needs the session's token; then the session is gone.
            var signOut = signedIn
            signOut[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/console/signout", method: .post, headers: signOut, body: ByteBuffer(string: "csrf=wrong")) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/console/signout", method: .post, headers: signOut, body: ByteBuffer(string: "csrf=\(sessionCSRF)")) { #expect($0.status == .seeOther) }
            try await client.execute(uri: "/console/explorer", method: .get, headers: signedIn) { response in
                #expect(response.status == .unauthorized)
                #expect(response.text.contains("console.bad_session"))
            }
        }
    }

    @Test func secureCookieSwitch() async throws {
        let fixture = try APIFixture { $0.console.secureCookie = true }
        try await Self.application(fixture).test(.router) { client in
            try await client.execute(uri: "/console/signin", method: .get) { response in
                #expect(Self.setCookie(response, Console.signInCookie)?.contains("Secure") == true)
            }
        }
    }

    @Test func everyWordInBothLanguages() {
        #expect(ConsoleText.words.values.allSatisfy { !$0.ja.isEmpty && !$0.en.isEmpty })
        #expect(Set(ConsoleText.ja.keys) == Set(ConsoleText.en.keys))
    }

    @Test func runOutProjectionIsIntegerArithmetic() {
        let day: UInt64 = 86_400_000
        // 1,000 granted over two days, 3,000 remaining: six more days.
        #expect(Console.runOut(remaining: 3_000, points: [(10 * day, 500), (12 * day, 1_500)]) == 18 * day)
        #expect(Console.runOut(remaining: 3_000, points: [(10 * day, 500), (12 * day, 500)]) == nil)
        #expect(Console.runOut(remaining: UInt64.max, points: [(0, 0), (day, 1)]) == UInt64.max)
    }

    /// The test clock shift tools/console-check uses is refused on a chain that is not local.
    @Test func developmentClockOnlyOnLocalChains() throws {
        let variable = DevelopmentClock.environmentVariable
        let local = APIFixture.makeGenesis()
        #expect(try DevelopmentClock.requestedOffset(environment: [:], chainId: local.chainId) == nil)
        #expect(try DevelopmentClock.requestedOffset(environment: [variable: "-86400000"], chainId: local.chainId) == -86_400_000)
        #expect(throws: Node.StartError(.developmentClock, "")) { try DevelopmentClock.requestedOffset(environment: [variable: "soon"], chainId: local.chainId) }
        var production = local
        production.chainId = "kizuna-city-1"
        #expect(throws: Node.StartError(.developmentClock, "")) { try DevelopmentClock.requestedOffset(environment: [variable: "1000"], chainId: production.chainId) }
    }

    /// The plain peer links of `kizuna bench network --compare-links` are refused on a chain that is not local.
    @Test func developmentPlainLinksOnlyOnLocalChains() throws {
        let variable = DevelopmentPlainLinks.environmentVariable
        let local = APIFixture.makeGenesis()
        #expect(try NodeRunner.developmentPlainLinks(environment: [:], genesis: local) == false)
        #expect(try NodeRunner.developmentPlainLinks(environment: [variable: "1"], genesis: local))
        #expect(throws: Node.StartError(.developmentPlainLinks, "")) { try NodeRunner.developmentPlainLinks(environment: [variable: "yes"], genesis: local) }
        var production = local
        production.chainId = "kizuna-city-1"
        #expect(throws: Node.StartError(.developmentPlainLinks, "")) { try NodeRunner.developmentPlainLinks(environment: [variable: "1"], genesis: production) }
    }

    @Test func nextIsAlwaysAConsolePath() {
        #expect(Console.safeNext("/console/explorer/block/2") == "/console/explorer/block/2")
        #expect(Console.safeNext("https://evil.example/") == "/console/explorer")
        #expect(Console.safeNext("//evil.example/console/") == "/console/explorer")
        #expect(Console.safeNext(nil) == "/console/explorer")
    }

    /// The aggregates take tens of seconds on a large chain (36.9 s at a million transactions):
    /// computed once, and a caller that finds a computation running gets an answer at once
    /// (the page says "being computed") instead of computing them a second time beside it.
    @Test func aggregatesAreComputedOnceAndNobodyWaitsForThem() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let index = ConsoleIndex(node: fixture.node)
        index.markAggregatesComputing(true)
        #expect(try index.recentAggregates() == nil, "a second caller does not compute")
        #expect(index.aggregateComputations == 0)
        index.markAggregatesComputing(false)
        #expect(try index.recentAggregates() != nil)
        #expect(try index.recentAggregates() != nil)
        #expect(index.aggregateComputations == 1, "cached until the next day closes")

        let fresh = ConsoleIndex(node: fixture.node)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { _ = try? fresh.recentAggregates() } }
        }
        #expect(fresh.aggregateComputations == 1, "eight callers at once, one computation")

        var logger = Logger(label: "console-test")
        logger.logLevel = .critical
        let console = try Console(node: fixture.node, logger: logger)
        console.index.markAggregatesComputing(true)
        let application = Application(router: APIServer.router(node: fixture.node, logger: logger, addRoutes: { console.addRoutes(to: $0) }))
        try await application.test(.router) { client in
            try await client.execute(uri: "/console/money?lang=en", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("The daily aggregates are being computed"), "\(response.text)")
            }
        }
    }
}
