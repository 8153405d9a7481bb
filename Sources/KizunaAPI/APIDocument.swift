import Foundation

/// The OpenAPI document, served at `/v1/openapi.yaml`.
///
/// One file: `Sources/KizunaAPI/Resources/openapi.yaml`, a resource of this target (SwiftPM
/// writes it into the `Kizuna_KizunaAPI.resources` bundle beside the binary);
/// `docs/openapi.yaml` is a link to it, and a test fails if what is served differs from it.
enum APIDocument {
    /// The document as served: the file without its final line break (the bytes the node has
    /// always served). Read once, when the first router is built, so a binary installed
    /// without its bundle stops at start rather than at the first request.
    static let openAPI: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            preconditionFailure("openapi.yaml is missing from the resource bundle \(Bundle.module.bundlePath); install Kizuna_KizunaAPI.resources beside the binary")
        }
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }()
}
