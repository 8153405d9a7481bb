import Foundation
import KizunaCore
import KizunaWallet
import Crypto
import CryptoExtras

/// The custodian's secrets (`docs/cards.md` §4, ADR 0014): one vault key, derived with scrypt
/// from the operator's passphrase and a salt kept in the store, from which HKDF derives
///
/// - the **sealing key**: each card's Ed25519 seed is sealed with ChaCha20-Poly1305 under it,
///   with the card id and account as associated data (a sealed seed cannot be moved to
///   another card record);
/// - the **PIN pepper**: a PIN is hashed as scrypt(HMAC-SHA256(pepper, card id ‖ PIN), salt),
///   so a copy of the store without the passphrase does not let anyone try the 10⁴–10¹²
///   PINs offline, however fast their hardware.
///
/// Nothing here logs or prints a PIN, a seed or a key.
public struct CardVault: Sendable {
    /// The range of scrypt costs (log2 N) the service accepts for PIN hashes.
    public static let logNRange = 10...20
    /// The vault key's scrypt cost: once per start, so it can be high.
    static let vaultLogN = 15
    static let checkText = Array("kizuna card vault v1".utf8)

    /// What the store keeps to re-derive the vault key: the salt, the cost, and a sealed
    /// check value that tells a wrong passphrase at start.
    struct Record: Codable {
        var salt: String
        var logN: Int
        var check: String
    }

    private let sealingKey: SymmetricKey
    private let pepperKey: SymmetricKey

    init(vaultKey: SymmetricKey) {
        sealingKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: vaultKey, info: Array("kizuna card seal".utf8), outputByteCount: 32)
        pepperKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: vaultKey, info: Array("kizuna card pin".utf8), outputByteCount: 32)
    }

    /// Opens the vault of an existing store, or makes one for a new store.
    static func open(passphrase: String, record: Record?) throws(CardServiceError) -> (vault: CardVault, record: Record) {
        guard passphrase.count >= 12 else {
            throw CardServiceError(.wrongPassphrase, "the vault passphrase needs at least 12 characters")
        }
        if let record {
            guard let salt = [UInt8](hex: record.salt), salt.count == 16, logNRange.contains(record.logN), let check = [UInt8](hex: record.check), check.count > 28 else {
                throw CardServiceError(.store, "the store's vault record is malformed")
            }
            let vault = CardVault(vaultKey: try derive(passphrase, salt: salt, logN: record.logN))
            guard (try? vault.open(check, context: "check")) == checkText else {
                throw CardServiceError(.wrongPassphrase, "the passphrase does not open this data folder's vault (or the vault record was altered)")
            }
            return (vault, record)
        }
        let salt = randomBytes(16)
        let vault = CardVault(vaultKey: try derive(passphrase, salt: salt, logN: vaultLogN))
        let check = try vault.seal(checkText, context: "check")
        return (vault, Record(salt: salt.hexString, logN: vaultLogN, check: check.hexString))
    }

    static func derive(_ secret: [UInt8], salt: [UInt8], logN: Int) throws(CardServiceError) -> SymmetricKey {
        do {
            return try KDF.Scrypt.deriveKey(from: secret, salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: 8, parallelism: 1)
        } catch {
            throw CardServiceError(.store, "scrypt failed: \(error)", cause: error)
        }
    }

    static func derive(_ passphrase: String, salt: [UInt8], logN: Int) throws(CardServiceError) -> SymmetricKey {
        try derive(Array(passphrase.utf8), salt: salt, logN: logN)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// nonce (12) ‖ ciphertext ‖ tag (16), bound to `context`.
    func seal(_ plaintext: [UInt8], context: String) throws(CardServiceError) -> [UInt8] {
        do {
            let box = try ChaChaPoly.seal(plaintext, using: sealingKey, authenticating: Array("kizuna-card\n\(context)".utf8))
            return Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw CardServiceError(.store, "sealing failed: \(error)", cause: error)
        }
    }

    func open(_ sealed: [UInt8], context: String) throws(CardServiceError) -> [UInt8] {
        guard sealed.count >= 28 else { throw CardServiceError(.store, "a sealed value is too short") }
        do {
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: sealed[0..<12]), ciphertext: sealed[12..<(sealed.count - 16)], tag: sealed[(sealed.count - 16)...])
            return Array(try ChaChaPoly.open(box, using: sealingKey, authenticating: Array("kizuna-card\n\(context)".utf8)))
        } catch {
            throw CardServiceError(.store, "a sealed value does not open under this vault (\(context))")
        }
    }

    /// A card key sealed for its record.
    func sealKey(_ key: PrivateKey, card: CardId) throws(CardServiceError) -> [UInt8] {
        try seal(key.seed, context: "\(card) \(key.publicKey.address)")
    }

    /// The card's key, checked against the account it was issued for.
    func openKey(_ sealed: [UInt8], card: CardId, account: String) throws(CardServiceError) -> PrivateKey {
        let seed = try open(sealed, context: "\(card) \(account)")
        guard let key = PrivateKey(seed: seed), key.publicKey.address.description == account else {
            throw CardServiceError(.store, "the sealed key of card \(card) does not belong to its account")
        }
        return key
    }

    /// A PIN's hash: scrypt over the peppered PIN (slow: run it off the service's actors).
    func pinHash(_ pin: String, card: CardId, salt: [UInt8], logN: Int) throws(CardServiceError) -> [UInt8] {
        let peppered = HMAC<SHA256>.authenticationCode(for: card.bytes + [0] + Array(pin.utf8), using: pepperKey)
        return Array(try CardVault.derive(Array(peppered), salt: salt, logN: logN).withUnsafeBytes { Array($0) })
    }

    /// Whether `pin` is 4 to 12 ASCII digits.
    public static func isWellFormed(pin: String) -> Bool {
        (4...12).contains(pin.utf8.count) && pin.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// Compares in time that does not depend on where the inputs differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
