import Foundation
import KizunaCore
import KizunaKeyStore
import Testing

/// Key files sealed with a passphrase (ADR 0009): what opens them and what does not.
@Suite struct SealedKeyFileTests {
    static let passphrase = "correct horse battery staple"

    static func code(_ body: () throws(SealedKeyFile.KeyStoreError) -> Void) -> KeyStoreErrorCode? {
        do {
            try body()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func opensWithItsPassphraseOnly() throws {
        let key = PrivateKey()
        let sealed = try SealedKeyFile(key: key, passphrase: Self.passphrase, logN: 10)
        #expect(try sealed.open(passphrase: Self.passphrase, path: "k").publicKey == key.publicKey)
        #expect(!sealed.sealed.contains(key.seed.hexString), "the seed is not in the file")
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try sealed.open(passphrase: Self.passphrase + "!", path: "k") } == .wrongPassphrase)
        // Two sealings of one key differ (fresh salt and nonce).
        let again = try SealedKeyFile(key: key, passphrase: Self.passphrase, logN: 10)
        #expect(again.kdf.salt != sealed.kdf.salt && again.sealed != sealed.sealed)
    }

    @Test func theAddressAndTheParametersAreAuthenticated() throws {
        let sealed = try SealedKeyFile(key: PrivateKey(), passphrase: Self.passphrase, logN: 10)
        var otherAddress = sealed
        otherAddress.address = PrivateKey().publicKey.address.description
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try otherAddress.open(passphrase: Self.passphrase, path: "k") } == .wrongPassphrase)
        var otherCost = sealed
        otherCost.kdf.logN = 11
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try otherCost.open(passphrase: Self.passphrase, path: "k") } == .wrongPassphrase)
        var hugeCost = sealed
        hugeCost.kdf.logN = 30
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try hugeCost.open(passphrase: Self.passphrase, path: "k") } == .unreadable, "a crafted cost is refused before scrypt runs")
        var flipped = sealed
        flipped.sealed = String(sealed.sealed.dropLast()) + (sealed.sealed.hasSuffix("0") ? "1" : "0")
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try flipped.open(passphrase: Self.passphrase, path: "k") } == .wrongPassphrase)
    }

    @Test func shortPassphrasesAreRefusedAndFilesAreWrittenOnceWithMode0600() throws {
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try SealedKeyFile(key: PrivateKey(), passphrase: "short", logN: 10) } == .weakPassphrase)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-sealed-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = PrivateKey()
        try SealedKeyFile(key: key, passphrase: Self.passphrase, logN: 10).write(path: path)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        #expect(KeyStore.isSealed(path: path))
        #expect(try KeyStore.load(path: path, passphrase: Self.passphrase).publicKey == key.publicKey)
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in try SealedKeyFile(key: key, passphrase: Self.passphrase, logN: 10).write(path: path) } == .unreadable, "never overwritten")
        #expect(Self.code { () throws(SealedKeyFile.KeyStoreError) in _ = try KeyStore.load(path: path, passphrase: nil) } == .passphraseRequired)
    }
}
