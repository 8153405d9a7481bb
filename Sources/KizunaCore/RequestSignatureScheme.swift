/// The signed-request scheme (`docs/api.md`, "Signed requests"). It lives in the core so that
/// the node (`KizunaAPI`, which checks signatures) and the wallet library (`KizunaWallet`,
/// which makes them) build the message from one definition.
///
/// ```
/// message = "KIZUNA/REQUEST/V1" ‖ 00 ‖ string(chainId) ‖ string(method) ‖ string(target)
///           ‖ u64(timestampMilliseconds) ‖ SHA-256(body)
/// ```
/// `string` is the wire format's `u32` length + UTF-8; `target` is the path and query exactly
/// as sent on the request line (e.g. `/v1/accounts/kz1…/transactions?limit=20`).
public enum RequestSignatureScheme {
    public static let addressHeader = "Kizuna-Address"
    public static let timestampHeader = "Kizuna-Timestamp"
    public static let signatureHeader = "Kizuna-Signature"

    /// The bytes a request signature covers.
    /// - Parameters:
    ///   - method: the HTTP method in upper case (`GET`).
    ///   - target: the path and query exactly as sent (`/v1/accounts/kz1…/transactions?limit=20`).
    ///   - timestampMilliseconds: milliseconds since 1970 UTC; the node accepts ± 60 s.
    ///   - body: the request body (empty for GET).
    public static func message(chainId: String, method: String, target: String, timestampMilliseconds: UInt64, body: [UInt8]) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(chainId, method, target, timestampMilliseconds)
        return HashDomain.requestSignature.prefix + encoder.bytes + Hash.sha256(body).bytes
    }
}
