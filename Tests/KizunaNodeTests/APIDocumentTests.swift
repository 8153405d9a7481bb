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

    /// One source: the document the node serves is the resource `Sources/KizunaAPI/Resources/openapi.yaml`
    /// and `docs/openapi.yaml` is a link to it. Served without the file's final line break, as
    /// the node always has.
    @Test func theServedDocumentIsDocsOpenAPI() async throws {
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: Self.documentPath.path)
        #expect(link == "../Sources/KizunaAPI/Resources/openapi.yaml", "docs/openapi.yaml must stay a link to the served resource, not a copy")
        let file = Array(try Data(contentsOf: Self.documentPath))
        let expected = file.last == UInt8(ascii: "\n") ? Array(file.dropLast()) : file
        let fixture = try APIFixture()
        let served = try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/openapi.yaml", method: .get) { Array($0.body.readableBytesView) }
        }
        let identical = served == expected
        let firstDifference = served.indices.first { $0 >= expected.count || served[$0] != expected[$0] } ?? served.count
        #expect(identical, "the served OpenAPI document (\(served.count) bytes) is not docs/openapi.yaml (\(expected.count) bytes without its final line break) from byte \(firstDifference); rebuild: SwiftPM copies Sources/KizunaAPI/Resources/openapi.yaml into the resource bundle")
    }
}
