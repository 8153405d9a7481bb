/// Store-scanned payments from a phone (issue 19, customer-presented mode): the resident's
/// wallet signs a short-lived `PaymentAuthorisation` and shows it as a QR code; the merchant's
/// terminal scans it, fills the actual amount (≤ the cap) and submits a `pay_authorised`
/// transaction signed with the merchant's own key. Field order is the wire order
/// (`docs/wire-format.md`).

/// What the resident's wallet signs: "this chain, from my account, to this merchant (or any
/// merchant), at most this much, until this block time, once".
public struct PaymentAuthorisation: Sendable, Hashable, CanonicalCodable {
    /// The length of the one-time nonce.
    public static let nonceBytes = 16
    /// The latest expiry the ledger accepts, counted from the block time that settles the
    /// payment: ten minutes. A QR code is shown for a minute or two; a longer-lived one is a
    /// bearer cheque anyone who photographs it could cash.
    public static let maxLifetimeMilliseconds: UInt64 = 10 * 60 * 1000

    public var chainId: String
    /// The resident who pays.
    public var payer: PublicKey
    /// The only merchant that may collect; nil: any merchant.
    public var merchant: PublicKey?
    /// The most the merchant may collect, in yen.
    public var capYen: UInt64
    /// Block time (UTC milliseconds) from which the authorisation no longer holds.
    public var expiresAt: UInt64
    /// Random bytes, fresh for every authorisation: the ledger settles an authorisation once
    /// per (payer, nonce).
    public var nonce: [UInt8]

    public init(chainId: String, payer: PublicKey, merchant: PublicKey?, capYen: UInt64, expiresAt: UInt64, nonce: [UInt8]) {
        precondition(nonce.count == Self.nonceBytes, "an authorisation nonce is \(Self.nonceBytes) bytes")
        self.chainId = chainId
        self.payer = payer
        self.merchant = merchant
        self.capYen = capYen
        self.expiresAt = expiresAt
        self.nonce = nonce
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(chainId, payer, merchant, capYen, expiresAt)
        encoder.encodeFixed(nonce)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        chainId = try decoder.decodeString(maxBytes: TransactionLimits.chainIdBytesMax)
        payer = try decoder.decode(PublicKey.self)
        merchant = try decoder.decodeOptional(PublicKey.self)
        capYen = try decoder.decodeUInt64()
        expiresAt = try decoder.decodeUInt64()
        nonce = try decoder.decodeFixed(Self.nonceBytes)
    }

    /// The bytes the payer signs: the domain tag, then the encoding. The domain keeps a
    /// signed authorisation from ever verifying as a transaction, block or request.
    public var signingBytes: [UInt8] { HashDomain.paymentAuthorisation.prefix + canonicalBytes }

    /// The authorisation's id: SHA-256 of its signing bytes.
    public var id: Hash { Hash.sha256(signingBytes) }

    /// Signs with the payer's key.
    public func signed(by key: PrivateKey) -> SignedPaymentAuthorisation {
        precondition(key.publicKey == payer, "the signing key must be the authorisation's payer")
        return SignedPaymentAuthorisation(authorisation: self, signature: key.sign(signingBytes))
    }
}

/// An authorisation with the payer's signature: what the QR code carries.
public struct SignedPaymentAuthorisation: Sendable, Hashable, CanonicalCodable {
    public var authorisation: PaymentAuthorisation
    public var signature: Signature

    public init(authorisation: PaymentAuthorisation, signature: Signature) {
        self.authorisation = authorisation
        self.signature = signature
    }

    /// Whether the payer's signature verifies.
    public var isValidSignature: Bool {
        authorisation.payer.isValidSignature(signature, for: authorisation.signingBytes)
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(authorisation, signature) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        authorisation = try decoder.decode(PaymentAuthorisation.self)
        signature = try decoder.decode(Signature.self)
    }
}

/// `pay_authorised`: a merchant collects a payment the payer authorised. The merchant signs
/// the transaction (with its own nonce) and is the payee; the payer's account nonce is not
/// used, the authorisation's one-time nonce is.
public struct PayAuthorised: Sendable, Hashable, CanonicalCodable {
    public var authorisation: SignedPaymentAuthorisation
    /// The amount the merchant collects (≤ the authorisation's cap).
    public var amount: Amount

    public init(authorisation: SignedPaymentAuthorisation, amount: Amount) {
        self.authorisation = authorisation
        self.amount = amount
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(authorisation, amount) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        authorisation = try decoder.decode(SignedPaymentAuthorisation.self)
        amount = try decoder.decodeUInt64()
    }
}

/// Base64url without padding (RFC 4648 §5), for authorisations shown as text or QR codes.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            let available = min(3, bytes.count - index)
            for position in 0...available {
                out.append(alphabet[Int(group >> (18 - 6 * UInt32(position)) & 0x3f)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unpadded base64url; nil on any other character, padding or an impossible length.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        for character in text.utf8 {
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(UInt32(character - UInt8(ascii: "A")))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(UInt32(character - UInt8(ascii: "a")) + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(UInt32(character - UInt8(ascii: "0")) + 52)
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let count = min(4, values.count - index)
            var group: UInt32 = 0
            for position in 0..<4 {
                group = group << 6 | (position < count ? values[index + position] : 0)
            }
            let produced = count - 1
            for position in 0..<produced {
                out.append(UInt8(truncatingIfNeeded: group >> (16 - 8 * UInt32(position))))
            }
            // Canonical form only: the unused low bits of the last character must be zero.
            if count < 4 {
                let unusedBits = UInt32(24 - 8 * produced)
                guard group & ((1 << unusedBits) - 1) == 0 else { return nil }
            }
            index += 4
        }
        return out
    }
}
