public import Foundation
#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif
public import KizunaCore

/// A card's identifier (issue 19, `docs/cards.md`): 16 random bytes the custodian draws when
/// it issues the card, written as 32 lower-case hex digits. It is all the card's QR code
/// carries (`kizuna-card:<id>`): not the account's key, and worthless without the PIN.
public struct CardId: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let byteCount = 16
    /// The prefix of the text a card's QR code carries.
    public static let scheme = "kizuna-card:"

    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Parses the hex form, or the QR text `kizuna-card:<hex>`.
    public init?(_ text: String) {
        var trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix(Self.scheme) { trimmed = String(trimmed.dropFirst(Self.scheme.count)) }
        guard trimmed.count == 2 * Self.byteCount, trimmed == trimmed.lowercased(), let bytes = [UInt8](hex: trimmed) else { return nil }
        self.init(bytes: bytes)
    }

    /// A fresh random id.
    public static func random() -> CardId {
        var generator = SystemRandomNumberGenerator()
        return CardId(bytes: (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) })!
    }

    public var description: String { bytes.hexString }
    /// The text a card's QR code carries.
    public var qrText: String { Self.scheme + description }

    public init(from decoder: any Swift.Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = CardId(text) else {
            throw Swift.DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a card id is 32 lower-case hex digits"))
        }
        self = id
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The messages of the card custodian's HTTP API (`docs/cards.md` §5). Every request is
/// signed with the request-signature scheme of the node's API (`RequestSignatureScheme`): a
/// terminal's with the merchant's key, the registrar's with the registrar's key.
public enum CardServiceMessages {
    /// `POST /v1/payments` — a terminal's card payment.
    public struct PaymentRequest: Codable, Sendable, Hashable {
        public var cardId: CardId
        public var amountYen: UInt64
        public var pin: String
        /// 16 random bytes (hex) the terminal draws per payment; the custodian settles each
        /// (merchant, requestNonce) once, and answers a repeat with the first outcome.
        public var requestNonce: String
        /// When the terminal made the request (UTC milliseconds).
        public var time: UInt64

        public init(cardId: CardId, amountYen: UInt64, pin: String, requestNonce: String, time: UInt64) {
            self.cardId = cardId
            self.amountYen = amountYen
            self.pin = pin
            self.requestNonce = requestNonce
            self.time = time
        }

        /// A request with a fresh random nonce.
        public static func new(cardId: CardId, amountYen: UInt64, pin: String, time: UInt64) -> PaymentRequest {
            var generator = SystemRandomNumberGenerator()
            let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return PaymentRequest(cardId: cardId, amountYen: amountYen, pin: pin, requestNonce: nonce.hexString, time: time)
        }
    }

    /// The custodian's answer to a payment: committed, with the transaction and its block.
    /// A refusal is a problem document (`code`, `message`) instead.
    public struct PaymentOutcome: Codable, Sendable, Hashable {
        public var status: String
        public var transactionId: String
        public var height: UInt64?
        public var card: String
        /// True when this answers a request the custodian had already settled (a retry or a
        /// replay): nothing was paid again.
        public var replayed: Bool

        public init(status: String, transactionId: String, height: UInt64?, card: String, replayed: Bool) {
            self.status = status
            self.transactionId = transactionId
            self.height = height
            self.card = card
            self.replayed = replayed
        }
    }

    /// `POST /v1/cards` (registrar): issue a card with its first PIN.
    public struct IssueRequest: Codable, Sendable {
        public var pin: String
        public init(pin: String) { self.pin = pin }
    }

    /// A card as the registrar sees it.
    public struct CardView: Codable, Sendable, Hashable {
        public var cardId: CardId
        /// The card's account (`kz1…`), which the registrar registers with role `card`.
        public var account: String
        public var locked: Bool
        public var failedPinAttempts: Int

        public init(cardId: CardId, account: String, locked: Bool, failedPinAttempts: Int) {
            self.cardId = cardId
            self.account = account
            self.locked = locked
            self.failedPinAttempts = failedPinAttempts
        }
    }

    /// `POST /v1/cards/{id}/pin` (registrar): a new PIN; also unlocks the card.
    public struct PinRequest: Codable, Sendable {
        public var pin: String
        public init(pin: String) { self.pin = pin }
    }
}

/// A client of the card custodian (`kizuna card-service`): the terminal's payment and the
/// registrar's card administration, each request signed with the caller's key.
///
/// ```swift
/// let terminal = CardServiceClient(baseURL: url, chainId: chainId, key: merchantKey)
/// let reply = try await terminal.pay(.new(cardId: id, amountYen: 1_280, pin: "4321", time: now))
/// ```
public struct CardServiceClient: Sendable {
    public let baseURL: URL
    public let signer: RequestSigner
    public var clock: @Sendable () -> UInt64

    public init(baseURL: URL, chainId: String, key: PrivateKey, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }) {
        self.baseURL = baseURL
        self.signer = RequestSigner(chainId: chainId, key: key)
        self.clock = clock
    }

    /// A terminal's payment; the reply is a `PaymentOutcome` (200) or a problem document.
    public func pay(_ request: CardServiceMessages.PaymentRequest) async throws -> NodeClient.Reply {
        try await send("POST", "/v1/payments", body: request)
    }

    /// The registrar issues a card with its first PIN; the reply is a `CardView` (201).
    public func issue(pin: String) async throws -> NodeClient.Reply {
        try await send("POST", "/v1/cards", body: CardServiceMessages.IssueRequest(pin: pin))
    }

    /// The registrar sets a new PIN (and unlocks the card).
    public func setPin(_ card: CardId, pin: String) async throws -> NodeClient.Reply {
        try await send("POST", "/v1/cards/\(card)/pin", body: CardServiceMessages.PinRequest(pin: pin))
    }

    /// The registrar unlocks a card locked by wrong PINs, keeping its PIN.
    public func unlock(_ card: CardId) async throws -> NodeClient.Reply {
        try await send("POST", "/v1/cards/\(card)/unlock", body: [String: String]())
    }

    /// The registrar reads a card's state.
    public func card(_ card: CardId) async throws -> NodeClient.Reply {
        try await send("GET", "/v1/cards/\(card)", body: nil as [String: String]?)
    }

    /// Sends `body` as JSON, signed; a GET has an empty body.
    func send<Body: Encodable>(_ method: String, _ target: String, body: Body?) async throws -> NodeClient.Reply {
        let base = baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        guard let url = URL(string: base + target) else { throw URLError(.badURL) }
        // Sorted keys: a repeated request is byte for byte the first (the custodian compares).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = try body.map { Array(try encoder.encode($0)) } ?? []
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 120
        if body != nil {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(bytes)
        }
        for (name, value) in signer.headers(method: method, target: target, timestampMilliseconds: clock(), body: bytes) {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return NodeClient.Reply(statusCode: http?.statusCode ?? 0, body: data)
    }
}
