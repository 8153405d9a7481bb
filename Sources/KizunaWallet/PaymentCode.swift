public import KizunaCore

/// The customer-presented payment code (issue 19): the resident's wallet signs a short-lived
/// `PaymentAuthorisation` and shows it as text — `kizuna-pay:` followed by the base64url
/// (unpadded) of the signed authorisation's canonical bytes — which a QR code carries and
/// the merchant's terminal scans.
///
/// ```swift
/// let code = PaymentCode.authorise(chainId: "local-kizuna-1", key: residentKey, merchant: nil,
///                                  capYen: 3_000, now: nowMs, lifetimeSeconds: 120)
/// let text = PaymentCode.text(code)            // show as QR
/// let scanned = try PaymentCode.parse(text)    // on the terminal
/// let tx = merchantWallet.collect(scanned, amount: 1_280)
/// ```
public enum PaymentCode {
    public static let scheme = "kizuna-pay:"
    /// The lifetime a wallet uses unless told otherwise: long enough to reach the till.
    public static let defaultLifetimeSeconds: UInt64 = 120

    /// Signs a new authorisation with a fresh random nonce, expiring `lifetimeSeconds` after
    /// `now` (UTC milliseconds; the wallet's clock — the ledger judges expiry by block time).
    public static func authorise(chainId: String, key: PrivateKey, merchant: PublicKey?, capYen: UInt64, now: UInt64, lifetimeSeconds: UInt64 = defaultLifetimeSeconds) throws(PaymentCodeError) -> SignedPaymentAuthorisation {
        guard capYen > 0 else { throw PaymentCodeError(.invalid, "the cap must be at least ¥1") }
        guard lifetimeSeconds > 0, lifetimeSeconds <= PaymentAuthorisation.maxLifetimeMilliseconds / 1000 else {
            throw PaymentCodeError(.invalid, "the lifetime must be 1–\(PaymentAuthorisation.maxLifetimeMilliseconds / 1000) seconds; the ledger refuses a longer one")
        }
        guard now <= UInt64.max - lifetimeSeconds * 1000 else { throw PaymentCodeError(.invalid, "the clock reading \(now) is out of range") }
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<PaymentAuthorisation.nonceBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let authorisation = PaymentAuthorisation(chainId: chainId, payer: key.publicKey, merchant: merchant, capYen: capYen, expiresAt: now + lifetimeSeconds * 1000, nonce: nonce)
        return authorisation.signed(by: key)
    }

    /// The text a QR code carries.
    public static func text(_ authorisation: SignedPaymentAuthorisation) -> String {
        scheme + Base64URL.encode(authorisation.canonicalBytes)
    }

    /// Parses scanned text and checks the payer's signature (the ledger checks it again, with
    /// the cap, expiry and nonce).
    public static func parse(_ text: String) throws(PaymentCodeError) -> SignedPaymentAuthorisation {
        let trimmed = text.trimmingWhitespace
        guard trimmed.hasPrefix(scheme) else {
            throw PaymentCodeError(.notAPaymentCode, "a payment code starts with '\(scheme)'")
        }
        guard let bytes = Base64URL.decode(String(trimmed.dropFirst(scheme.count))) else {
            throw PaymentCodeError(.malformed, "the payment code is not valid base64url")
        }
        let authorisation: SignedPaymentAuthorisation
        do {
            authorisation = try SignedPaymentAuthorisation(canonicalBytes: bytes)
        } catch {
            throw PaymentCodeError(.malformed, "the payment code does not decode: \(error)")
        }
        guard authorisation.isValidSignature else {
            throw PaymentCodeError(.badSignature, "the payer's signature on the payment code does not verify")
        }
        return authorisation
    }
}

/// Why a payment code could not be made or read.
public typealias PaymentCodeError = CodedError<PaymentCodeErrorCode>

public struct PaymentCodeErrorCode: ErrorCode, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A cap or lifetime the ledger would refuse.
    public static let invalid = Self(rawValue: "payment_code.invalid")
    /// The text is not a `kizuna-pay:` code.
    public static let notAPaymentCode = Self(rawValue: "payment_code.not_a_payment_code")
    /// The text is a `kizuna-pay:` code but its bytes do not decode.
    public static let malformed = Self(rawValue: "payment_code.malformed")
    /// The payer's signature does not verify.
    public static let badSignature = Self(rawValue: "payment_code.bad_signature")
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
