import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import KizunaNode

/// The OpenAPI document matches the router: a route added without its description, or a
/// description left behind for a removed route, fails here.
@Suite("OpenAPI document")
struct APIDocumentTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var documentPath: URL { packageRoot.appendingPathComponent("docs/openapi.yaml") }

    /// `path → methods` from the document's `paths:` section. A minimal reader for the
    /// document's own layout: paths at two spaces of indentation, methods at four.
    static func documentedOperations(_ yaml: String) -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var currentPath: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line == "paths:"
                currentPath = nil
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if let currentPath, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "put", "post", "delete", "patch", "head", "options"].contains(String(method)) {
                    operations.insert("\(method.uppercased()) \(currentPath)")
                }
            }
        }
        return operations
    }

    @Test func everyRouteIsDescribedAndEveryDescriptionIsARoute() throws {
        let yaml = try String(contentsOf: Self.documentPath, encoding: .utf8)
        let documented = Self.documentedOperations(yaml)
        #expect(documented.count > 10, "the reader found no operations in docs/openapi.yaml")
        let fixture = try APIFixture()
        let routes = Set(fixture.router().routes.map { "\($0.method.rawValue) \($0.path.description)" })
        let undocumented = routes.subtracting(documented).sorted()
        let stale = documented.subtracting(routes).sorted()
        #expect(undocumented.isEmpty, "routes without an OpenAPI description in docs/openapi.yaml: \(undocumented)")
        #expect(stale.isEmpty, "OpenAPI paths with no route: \(stale)")
    }

    @Test func theServedDocumentIsDocsOpenAPI() async throws {
        let yaml = try String(contentsOf: Self.documentPath, encoding: .utf8)
        let expected = yaml.hasSuffix("\n") ? String(yaml.dropLast()) : yaml
        let fixture = try APIFixture()
        let served = try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/openapi.yaml", method: .get) { $0.text }
        }
        if served != expected, ProcessInfo.processInfo.environment["KIZUNA_WRITE_OPENAPI"] == "1" {
            let swift = """
            // Generated from docs/openapi.yaml — do not edit. Regenerate with
            // KIZUNA_WRITE_OPENAPI=1 swift test --filter APIDocumentTests (a test fails when they differ).
            // Over 500 lines because it is the whole document, compiled in rather than a resource
            // bundle: a bundle would not travel with a copied binary (tools/fault-runner,
            // KIZUNA_BINARY) — docs/architecture.md.

            /// The OpenAPI document, served at `/v1/openapi.yaml`.
            enum APIDocument {
                static let openAPI = #\"\"\"
            \(yaml)\"\"\"#
            }

            """
            try swift.write(to: Self.packageRoot.appendingPathComponent("Sources/KizunaAPI/APIDocument.swift"), atomically: true, encoding: .utf8)
            Issue.record("Sources/KizunaAPI/APIDocument.swift was regenerated; rebuild and run again")
            return
        }
        #expect(served == expected, "Sources/KizunaAPI/APIDocument.swift is not docs/openapi.yaml: regenerate with KIZUNA_WRITE_OPENAPI=1 swift test --filter APIDocumentTests")
    }
}
