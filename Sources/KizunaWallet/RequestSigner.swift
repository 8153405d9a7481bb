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
    public static let addressHeader = RequestSignatureScheme.addressHeader
    public static let timestampHeader = RequestSignatureScheme.timestampHeader
    public static let signatureHeader = RequestSignatureScheme.signatureHeader

    public let chainId: String
    public let key: PrivateKey

    public init(chainId: String, key: PrivateKey) {
        self.chainId = chainId
        self.key = key
    }

    /// The bytes a request signature covers: the scheme's message, which the node checks
    /// (`RequestSignatureScheme.message`).
    public static func message(chainId: String, method: String, target: String, timestampMilliseconds: UInt64, body: [UInt8]) -> [UInt8] {
        RequestSignatureScheme.message(chainId: chainId, method: method, target: target, timestampMilliseconds: timestampMilliseconds, body: body)
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
