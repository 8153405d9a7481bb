import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import KizunaCore
@testable import KizunaNode
@testable import KizunaAPI

/// A path the API serves, asked with a method it is not served with, is 405
/// `api.method_not_allowed` with an `Allow` header listing the path's methods (RFC 9110
/// §15.5.6) — what schemathesis' "undeclared method" check (ST204) asks for; a path no route
/// serves stays 404 `api.no_such_route`.
@Suite("Method not allowed")
struct MethodNotAllowedTests {
    typealias F = APIFixture

    static let transactionId = String(repeating: "ab", count: 32)
    static var resident: String { F.resident1.publicKey.address.description }

    /// Request path → the `Allow` header it must get.
    static var cases: [(path: String, allow: String)] {
        [
            ("/health", "GET"),
            ("/metrics", "GET"),
            ("/v1/openapi.yaml", "GET"),
            ("/v1/status", "GET"),
            ("/v1/headers/latest", "GET"),
            ("/v1/headers/3", "GET"),
            ("/v1/blocks/latest", "GET"),
            ("/v1/blocks/3", "GET"),
            ("/v1/blocks/3/canonical", "GET"),
            ("/v1/transactions", "POST"),
            ("/v1/transactions/\(transactionId)", "GET"),
            ("/v1/accounts/\(resident)", "GET"),
            ("/v1/accounts/\(resident)/transactions?limit=1", "GET"),
            ("/v1/supply?height=1", "GET"),
            ("/v1/programs", "GET"),
            ("/v1/programs/1", "GET"),
            ("/v1/reports/unused-balance?date=2026-09-30", "GET"),
            ("/v1/reports/settlements/\(resident)", "GET"),
            ("/v1/reports/aggregates?from=2026-04-01&to=2026-04-30", "GET"),
            ("/v1/events", "GET"),
        ]
    }

    @Test func anUndeclaredMethodOnARouteIs405WithAllow() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        try await fixture.application().test(.router) { client in
            for (path, allow) in Self.cases {
                let methods: [HTTPRequest.Method] = allow == "GET" ? [.post, .put, .delete, .patch, .trace, .options, .head] : [.get, .put, .delete, .patch, .trace, .options, .head]
                for method in methods {
                    try await client.execute(uri: path, method: method) { response in
                        #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                        #expect(response.headers[.allow] == allow, "\(method) \(path)")
                        #expect(response.isProblem, "\(method) \(path)")
                        if method != .head {
                            #expect(response.code == "api.method_not_allowed", "\(method) \(path)")
                            #expect(response.json?["status"] as? Int == 405, "\(method) \(path)")
                            #expect(response.json?["type"] as? String == "urn:kizuna:problem:api.method_not_allowed", "\(method) \(path)")
                            #expect(response.json?["title"] as? String == "Method Not Allowed", "\(method) \(path)")
                        }
                    }
                }
            }
        }
    }

    /// Every route the router has answers 405 to TRACE (which no route serves), and its
    /// `Allow` names the route's own method: no route is missing from the table.
    @Test func everyRouteAnswersAnUndeclaredMethod() async throws {
        let fixture = try APIFixture()
        // Plain strings: the router's route descriptions are not Sendable.
        let routes = fixture.router().routes.map { route in
            (path: "/" + route.path.map { element in
                let text = element.description
                return text.hasPrefix(":") ? "1" : text
            }.joined(separator: "/"), method: route.method.rawValue)
        }
        #expect(routes.count > 10)
        try await fixture.application().test(.router) { client in
            for route in routes {
                let path = route.path
                try await client.execute(uri: path, method: .trace) { response in
                    #expect(response.status == .methodNotAllowed, "TRACE \(path)")
                    let allow = response.headers[.allow]?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
                    #expect(allow.contains(route.method), "TRACE \(path): Allow \(allow)")
                }
            }
        }
    }

    @Test func anUnknownPathStays404() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            for (path, method) in [("/v1/nothing-here", HTTPRequest.Method.trace), ("/v1/nothing-here", .get), ("/v1/status/extra", .get), ("/v1/blocks/3/canonical/extra", .trace), ("/", .trace)] {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .notFound, "\(method) \(path)")
                    #expect(response.code == "api.no_such_route", "\(method) \(path)")
                    #expect(response.headers[.allow] == nil, "\(method) \(path)")
                }
            }
            // A served method still reaches its handler (and its own errors).
            try await client.execute(uri: "/v1/headers/99", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.no_such_block")
            }
            try await client.execute(uri: "/v1/blocks/latest", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.code == "auth.required")
            }
        }
    }

    /// Over a real socket and HTTP/1.1 parser, as schemathesis sends it.
    @Test func overHTTP() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.live) { client in
            try await client.execute(uri: "/v1/status", method: .trace) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
                #expect(response.code == "api.method_not_allowed")
            }
            try await client.execute(uri: "/v1/transactions", method: .put, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
        }
    }

    /// Access-control refusals build their status from a bare code, whose reason phrase is
    /// empty; the problem's `title` must still name it.
    @Test func problemTitlesAreNeverEmpty() {
        for code in [400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503] {
            let title = APIServer.title(of: HTTPResponse.Status(code: code))
            #expect(!title.isEmpty && !title.hasPrefix("HTTP "), "\(code): \(title)")
        }
        #expect(APIServer.title(of: HTTPResponse.Status(code: 400)) == "Bad Request")
        #expect(APIServer.title(of: .tooManyRequests) == HTTPResponse.Status.tooManyRequests.reasonPhrase)
        #expect(APIServer.title(of: HTTPResponse.Status(code: 418)) == "HTTP 418")
    }

    /// Report dates are YYYY-MM-DD in digits only (schemathesis found "2026-+1-01" accepted).
    @Test func reportDatesAreDigitsOnly() throws {
        #expect(try APIServer.parseDate("2026-03-31") == (2026, 3, 31))
        for text in ["2026-+1-01", "+026-01-01", "2026-01-+1", "2026- 1-01", "2026-1-01", "2026-13-01", "1969-12-31"] {
            #expect(throws: APIProblem.self, "\(text)") { try APIServer.parseDate(text) }
        }
    }
}
