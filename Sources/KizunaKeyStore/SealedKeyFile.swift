public import Foundation
public import KizunaCore
import KizunaWallet
import Crypto
import CryptoExtras

/// A private key on disk encrypted with a passphrase (ADR 0009): JSON with the address in
/// clear and the 32-byte seed sealed by ChaCha20-Poly1305 under a key that scrypt derives
/// from the passphrase and a random salt. The address and the KDF parameters are the
/// cipher's associated data, so neither can be swapped without the passphrase noticing.
///
/// ```json
/// {"kind": "kizuna-ed25519-key-sealed", "address": "kz1…",
///  "kdf": {"name": "scrypt", "logN": 15, "r": 8, "p": 1, "salt": "…32 hex…"},
///  "cipher": "chacha20-poly1305", "nonce": "…24 hex…", "sealed": "…96 hex…"}
/// ```
public struct SealedKeyFile: Codable, Sendable {
    public static let kind = "kizuna-ed25519-key-sealed"
    public static let cipherName = "chacha20-poly1305"

    public struct KeyDerivation: Codable, Sendable, Hashable {
        public static let scryptName = "scrypt"
        /// scrypt's cost as log2 N; 15 (32 MiB, about a tenth of a second) by default.
        public static let logNDefault = 15
        /// The range a reader accepts, so a crafted file cannot make it use gigabytes.
        public static let logNRange = 10...20

        public var name: String
        public var logN: Int
        public var r: Int
        public var p: Int
        /// 16 random bytes, hex.
        public var salt: String
    }

    public var kind: String
    public var address: String
    public var kdf: KeyDerivation
    public var cipher: String
    /// 12 random bytes, hex.
    public var nonce: String
    /// The encrypted seed (32 bytes) followed by the 16-byte tag, hex.
    public var sealed: String
    public var note: String?

    /// Why a sealed key file cannot be read or opened.
    public typealias KeyStoreError = CodedError<KeyStoreErrorCode>

    /// Seals `key` under `passphrase`.
    /// - Throws: `keystore.weak_passphrase` for a passphrase under 12 characters.
    public init(key: PrivateKey, passphrase: String, note: String? = nil, logN: Int = KeyDerivation.logNDefault) throws(KeyStoreError) {
        guard passphrase.count >= SealedKeyFile.passphraseCharactersMin else {
            throw KeyStoreError(.weakPassphrase, "a key passphrase needs at least \(SealedKeyFile.passphraseCharactersMin) characters")
        }
        precondition(KeyDerivation.logNRange.contains(logN), "logN outside \(KeyDerivation.logNRange)")
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        kind = SealedKeyFile.kind
        address = key.publicKey.address.description
        kdf = KeyDerivation(name: KeyDerivation.scryptName, logN: logN, r: 8, p: 1, salt: salt.hexString)
        cipher = SealedKeyFile.cipherName
        self.note = note
        let symmetric = try Self.derive(passphrase: passphrase, kdf: kdf, path: "(new key)")
        do {
            let box = try ChaChaPoly.seal(key.seed, using: symmetric, authenticating: Self.associatedData(address: address, kdf: kdf))
            nonce = Array(box.nonce).hexString
            sealed = (Array(box.ciphertext) + Array(box.tag)).hexString
        } catch {
            throw KeyStoreError(.unreadable, "sealing the key failed: \(error)", cause: error)
        }
    }

    public static let passphraseCharactersMin = 12

    /// Opens the key with `passphrase` and checks that it is the key of `address`.
    /// - Throws: `keystore.wrong_passphrase` when the passphrase does not open it (or the file
    ///   was altered), `keystore.unreadable` for a malformed file.
    public func open(passphrase: String, path: String) throws(KeyStoreError) -> PrivateKey {
        guard kind == SealedKeyFile.kind, cipher == SealedKeyFile.cipherName else {
            throw KeyStoreError(.unreadable, "key file \(path): kind '\(kind)' with cipher '\(cipher)' is not a sealed Kizuna key")
        }
        guard let nonceBytes = [UInt8](hex: nonce), nonceBytes.count == 12,
              let sealedBytes = [UInt8](hex: sealed), sealedBytes.count == 32 + 16 else {
            throw KeyStoreError(.unreadable, "key file \(path): nonce must be 24 and sealed 96 hex digits")
        }
        let symmetric = try Self.derive(passphrase: passphrase, kdf: kdf, path: path)
        let seed: [UInt8]
        do {
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: nonceBytes), ciphertext: sealedBytes[0..<32], tag: sealedBytes[32...])
            seed = Array(try ChaChaPoly.open(box, using: symmetric, authenticating: Self.associatedData(address: address, kdf: kdf)))
        } catch {
            throw KeyStoreError(.wrongPassphrase, "key file \(path): the passphrase does not open this key (or the file was altered)")
        }
        guard let key = PrivateKey(seed: seed), key.publicKey.address.description == address else {
            throw KeyStoreError(.unreadable, "key file \(path): the sealed seed does not belong to address \(address)")
        }
        return key
    }

    static func associatedData(address: String, kdf: KeyDerivation) -> [UInt8] {
        Array("\(SealedKeyFile.kind)\n\(address)\n\(kdf.name)/\(kdf.logN)/\(kdf.r)/\(kdf.p)/\(kdf.salt)".utf8)
    }

    static func derive(passphrase: String, kdf: KeyDerivation, path: String) throws(KeyStoreError) -> SymmetricKey {
        guard kdf.name == KeyDerivation.scryptName, KeyDerivation.logNRange.contains(kdf.logN), kdf.r == 8, kdf.p == 1,
              let salt = [UInt8](hex: kdf.salt), salt.count == 16 else {
            throw KeyStoreError(.unreadable, "key file \(path): kdf must be scrypt with logN \(KeyDerivation.logNRange), r 8, p 1 and a 16-byte salt")
        }
        do {
            return try KDF.Scrypt.deriveKey(from: Array(passphrase.utf8), salt: salt, outputByteCount: 32,
                                            rounds: 1 << kdf.logN, blockSize: kdf.r, parallelism: kdf.p)
        } catch {
            throw KeyStoreError(.unreadable, "key file \(path): scrypt failed: \(error)", cause: error)
        }
    }

    /// Writes the file like `KeyFile.write`: O_EXCL, mode 0600, fsync; never overwrites.
    public func write(path: String) throws(KeyStoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let json = try? encoder.encode(self) else {
            throw KeyStoreError(.unreadable, "key file \(path): cannot be encoded")
        }
        try KeyStore.writeExclusive(Array(json) + Array("\n".utf8), path: path)
    }
}

/// The codes of `SealedKeyFile.KeyStoreError`.
public enum KeyStoreErrorCode: String, ErrorCode {
    /// The file is missing, unreadable, malformed, or could not be written.
    case unreadable = "keystore.unreadable"
    /// The passphrase does not open the sealed key (or the file was altered).
    case wrongPassphrase = "keystore.wrong_passphrase"
    /// The key is sealed and no passphrase was given.
    case passphraseRequired = "keystore.passphrase_required"
    /// A new passphrase is too short.
    case weakPassphrase = "keystore.weak_passphrase"
}

/// Reads either kind of key file: plain (`KeyFile`) or sealed (`SealedKeyFile`).
public enum KeyStore {
    public typealias KeyStoreError = SealedKeyFile.KeyStoreError

    /// Loads the key at `path`; a sealed key needs `passphrase`.
    public static func load(path: String, passphrase: String?) throws(KeyStoreError) -> PrivateKey {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KeyStoreError(.unreadable, "key file \(path) cannot be read (\(error.localizedDescription))", cause: error)
        }
        if let sealed = try? JSONDecoder().decode(SealedKeyFile.self, from: data), sealed.kind == SealedKeyFile.kind {
            guard let passphrase else {
                throw KeyStoreError(.passphraseRequired, "key file \(path) is sealed with a passphrase; give it with --passphrase-file (or KIZUNA_KEY_PASSPHRASE_FILE)")
            }
            return try sealed.open(passphrase: passphrase, path: path)
        }
        do {
            return try KeyFile.load(path: path)
        } catch {
            throw KeyStoreError(.unreadable, error.message, cause: error)
        }
    }

    /// Whether the file at `path` is a sealed key file.
    public static func isSealed(path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
              let sealed = try? JSONDecoder().decode(SealedKeyFile.self, from: data) else { return false }
        return sealed.kind == SealedKeyFile.kind
    }

    /// The passphrase in the first line of `path` (without its line end).
    /// - Throws: `keystore.unreadable` if the file cannot be read or is empty.
    public static func readPassphrase(path: String) throws(KeyStoreError) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw KeyStoreError(.unreadable, "passphrase file \(path) cannot be read")
        }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let passphrase = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !passphrase.isEmpty else {
            throw KeyStoreError(.unreadable, "passphrase file \(path) is empty; its first line is the passphrase")
        }
        return passphrase
    }

    /// Writes `bytes` to a new file with mode 0600 (O_EXCL: never overwrites), then fsyncs.
    public static func writeExclusive(_ bytes: [UInt8], path: String) throws(KeyStoreError) {
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "already exists; refusing to overwrite a key file" : "cannot be created (errno \(errno))"
            throw KeyStoreError(.unreadable, "key file \(path) \(reason)")
        }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw KeyStoreError(.unreadable, "key file \(path) could not be written completely")
        }
    }
}
