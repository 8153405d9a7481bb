import Foundation
import KizunaCore
import KizunaWallet
import KizunaStorage
import KizunaRocksDB

/// A card as the custodian keeps it.
struct CardRecord: Codable, Sendable {
    var cardId: CardId
    /// The card's account (`kz1…`).
    var account: String
    /// The card's Ed25519 seed, sealed under the vault (`CardVault.sealKey`), hex.
    var sealedKey: String
    var pinSalt: String
    var pinHash: String
    var pinLogN: Int
    var failedPinAttempts: Int
    var locked: Bool
    /// The Japan-time day (yyyymmdd) of the card's last committed payment, and its total
    /// that day: the custodian's own check of the per-day cap before it signs.
    var day: UInt32
    var spentOnDay: UInt64
    var issuedAt: UInt64

    var view: CardServiceMessages.CardView {
        CardServiceMessages.CardView(cardId: cardId, account: account, locked: locked, failedPinAttempts: failedPinAttempts)
    }
}

/// A terminal request the custodian answered (or is answering): what makes a retry return the
/// first outcome and a payment signed before a crash finish after it.
struct RequestRecord: Codable, Sendable {
    enum Status: String, Codable, Sendable { case pending, committed, refused }

    var merchant: String
    var requestNonce: String
    /// SHA-256 of the request body: a repeat must be the same payment.
    var bodyHash: String
    var cardId: CardId
    var amountYen: UInt64
    var receivedAt: UInt64
    var status: Status
    /// The signed payment (canonical bytes, hex) and its id, once signed.
    var signedTransaction: String?
    var transactionId: String?
    var height: UInt64?
    /// A refusal: its HTTP status, code and message.
    var httpStatus: Int?
    var code: String?
    var message: String?

    var key: String { CardStore.requestKey(merchant: merchant, nonce: requestNonce) }
}

/// The custodian's store: RocksDB (column family `meta`), every write one synced batch, so a
/// record written before an answer survives a crash at any instant after it.
///
/// Keys (UTF-8): `vault` → `CardVault.Record`; `card/<id>` → `CardRecord`;
/// `request/<merchant>/<nonce>` → `RequestRecord`; `pending/<card id>/<request key>` → empty
/// (payments signed and not yet settled); `expiry/<16 hex digits of time>/<request key>` →
/// empty (old settled requests are pruned). Values are JSON.
final class CardStore: Sendable {
    let store: RocksDBStore

    init(path: String) throws(CardServiceError) {
        do {
            store = try RocksDBStore(path: path)
        } catch {
            throw CardServiceError(.store, "cannot open the card store at \(path): \(error)", cause: error)
        }
    }

    func close() { store.close() }

    static func requestKey(merchant: String, nonce: String) -> String { "request/\(merchant)/\(nonce)" }
    static func cardKey(_ id: CardId) -> String { "card/\(id)" }
    static func pendingKey(_ record: RequestRecord) -> String { "pending/\(record.cardId)/\(record.key)" }
    static func expiryKey(_ record: RequestRecord) -> String { "expiry/\(String(record.receivedAt, radix: 16).leftPadded(16))/\(record.key)" }

    func read<T: Decodable>(_ key: String, as type: T.Type) throws(CardServiceError) -> T? {
        do {
            guard let bytes = try store.get(Array(key.utf8), in: .meta) else { return nil }
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw CardServiceError(.store, "cannot read \(key) from the card store: \(error)", cause: error)
        }
    }

    func card(_ id: CardId) throws(CardServiceError) -> CardRecord? { try read(Self.cardKey(id), as: CardRecord.self) }
    func request(_ key: String) throws(CardServiceError) -> RequestRecord? { try read(key, as: RequestRecord.self) }
    func vault() throws(CardServiceError) -> CardVault.Record? { try read("vault", as: CardVault.Record.self) }

    /// One synced batch of puts (and deletes, for nil values).
    func write(_ entries: [(String, (any Encodable)?)]) throws(CardServiceError) {
        var batch = WriteBatch()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            for (key, value) in entries {
                if let value {
                    batch.put(Array(try encoder.encode(value)), for: Array(key.utf8), in: .meta)
                } else {
                    batch.delete(Array(key.utf8), in: .meta)
                }
            }
            try store.write(batch, sync: true)
        } catch {
            throw CardServiceError(.store, "cannot write the card store: \(error)", cause: error)
        }
    }

    /// The requests of `card` that were signed and not yet settled, oldest first.
    func pendingRequests(card: CardId) throws(CardServiceError) -> [RequestRecord] {
        var records: [RequestRecord] = []
        for key in try keys(withPrefix: "pending/\(card)/") {
            if let record = try request(String(key.dropFirst("pending/\(card)/".count))) { records.append(record) }
        }
        return records.sorted { ($0.receivedAt, $0.key) < ($1.receivedAt, $1.key) }
    }

    /// Every card with a pending request (at start, to finish them).
    func cardsWithPendingRequests() throws(CardServiceError) -> [CardId] {
        var cards: [CardId] = []
        for key in try keys(withPrefix: "pending/") {
            if let id = CardId(String(key.dropFirst("pending/".count).prefix(2 * CardId.byteCount))), cards.last != id { cards.append(id) }
        }
        return cards
    }

    /// Deletes settled requests received before `cutoff`: older than the request window, a
    /// repeat of them is refused as expired anyway.
    func prune(before cutoff: UInt64, limit: Int = 1_000) throws(CardServiceError) -> Int {
        var entries: [(String, (any Encodable)?)] = []
        for key in try keys(withPrefix: "expiry/", limit: limit) {
            let parts = key.split(separator: "/", maxSplits: 2)
            guard parts.count == 3, let time = UInt64(parts[1], radix: 16), time < cutoff else { break }
            entries.append((key, nil))
            entries.append((String(parts[2]), nil))
        }
        if !entries.isEmpty { try write(entries) }
        return entries.count / 2
    }

    func keys(withPrefix prefix: String, limit: Int = .max) throws(CardServiceError) -> [String] {
        do {
            return try store.entries(withPrefix: Array(prefix.utf8), in: .meta, limit: limit).map { String(decoding: $0.key, as: UTF8.self) }
        } catch {
            throw CardServiceError(.store, "cannot scan the card store: \(error)", cause: error)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
