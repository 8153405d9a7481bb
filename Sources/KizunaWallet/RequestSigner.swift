public import KizunaCore

/// Signs API requests with an account's key, so the node lets the account read its own
/// balance, history and receipts (`docs/api.md`, "Signed requests").
///
/// ```swift
/// let signer = RequestSigner(chainId: "local-kizuna-1", key: key)
/// let headers = signer.headers(method: "GET", target: "/v1/accounts/\(key.publicKey.address)", timestampMilliseconds: now)
/// // add headers["Kizuna-Address"], ["Kizuna-Timestamp"], ["Kizuna-Signature"] to the request
/// ```
public struct RequestSigner: Sendable {
    public static let addressHeader = "Kizuna-Address"
    public static let timestampHeader = "Kizuna-Timestamp"
    public static let signatureHeader = "Kizuna-Signature"

    public let chainId: String
    public let key: PrivateKey

    public init(chainId: String, key: PrivateKey) {
        self.chainId = chainId
        self.key = key
    }

    /// The bytes a request signature covers:
    /// `"KIZUNA/REQUEST/V1" ‖ 00 ‖ string(chainId) ‖ string(method) ‖ string(target) ‖ u64(timestamp) ‖ SHA-256(body)`.
    /// - Parameters:
    ///   - method: the HTTP method in upper case (`GET`).
    ///   - target: the path and query exactly as sent (`/v1/accounts/kz1…/transactions?limit=20`).
    ///   - timestampMilliseconds: milliseconds since 1970 UTC; the node accepts ± 60 s.
    ///   - body: the request body (empty for GET).
    public static func message(chainId: String, method: String, target: String, timestampMilliseconds: UInt64, body: [UInt8]) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(chainId)
        encoder.encode(method)
        encoder.encode(target)
        encoder.encode(timestampMilliseconds)
        return HashDomain.requestSignature.prefix + encoder.bytes + Hash.sha256(body).bytes
    }

    /// The three headers of a signed request.
    public func headers(method: String, target: String, timestampMilliseconds: UInt64, body: [UInt8] = []) -> [String: String] {
        let signature = key.sign(RequestSigner.message(chainId: chainId, method: method, target: target, timestampMilliseconds: timestampMilliseconds, body: body))
        return [
            RequestSigner.addressHeader: key.publicKey.address.description,
            RequestSigner.timestampHeader: String(timestampMilliseconds),
            RequestSigner.signatureHeader: signature.bytes.hexString,
        ]
    }
}
