import Foundation
import KizunaCore
import KizunaWallet
import Testing

@Suite("Wallet helpers")
struct WalletTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-core-tests-\(ProcessInfo.processInfo.globallyUniqueString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func keyFileRoundTrip() throws {
        let directory = try WalletTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = Fixtures.testKey("key file")
        let path = directory.appendingPathComponent("key.json").path
        try KeyFile(key: key, note: "test").write(path: path)
        let loaded = try KeyFile.load(path: path)
        #expect(loaded.publicKey == key.publicKey)
        #expect(loaded.seed == key.seed)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(json?["kind"] as? String == "kizuna-ed25519-key")
        #expect(json?["address"] as? String == key.publicKey.address.description)
        #expect(json?["seed"] as? String == key.seed.hexString)
    }

    @Test func keyFileRefusesToOverwrite() throws {
        let directory = try WalletTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("key.json").path
        let first = Fixtures.testKey("first")
        try KeyFile(key: first).write(path: path)
        #expect(throws: (any Error).self) { try KeyFile(key: Fixtures.testKey("second")).write(path: path) }
        #expect(try KeyFile.load(path: path).publicKey == first.publicKey)
    }

    @Test func keyFileLoadErrors() throws {
        let directory = try WalletTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ text: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let key = Fixtures.testKey("load errors")
        let other = Fixtures.testKey("other")
        let missing = directory.appendingPathComponent("missing.json").path
        let cases = [
            missing,
            try write("not-json", "hello"),
            try write("kind", #"{"kind":"other","address":"\#(key.publicKey.address)","seed":"\#(key.seed.hexString)"}"#),
            try write("seed", #"{"kind":"kizuna-ed25519-key","address":"\#(key.publicKey.address)","seed":"abcd"}"#),
            try write("mismatch", #"{"kind":"kizuna-ed25519-key","address":"\#(other.publicKey.address)","seed":"\#(key.seed.hexString)"}"#),
        ]
        for path in cases {
            do throws(KeyFile.LoadError) {
                _ = try KeyFile.load(path: path)
                Issue.record("loaded \(path)")
            } catch {
                #expect(error.description.hasPrefix("key.unreadable"))
                #expect(error.message.hasPrefix("key file \(path): "))
            }
        }
        let good = try write("good", #"{"kind":"kizuna-ed25519-key","address":"\#(key.publicKey.address)","seed":"\#(key.seed.hexString)"}"#)
        #expect(try KeyFile.load(path: good).publicKey == key.publicKey)
    }

    @Test func builderCountsNonces() throws {
        var wallet = TransactionBuilder(chainId: Fixtures.chainId, key: Fixtures.key("resident-1"), nextNonce: 7)
        let first = wallet.send(to: Fixtures.key("resident-2").publicKey, amount: 500)
        let second = wallet.send(to: Fixtures.key("resident-2").publicKey, amount: 500)
        #expect(first.transaction.nonce == 7)
        #expect(second.transaction.nonce == 8)
        #expect(wallet.nextNonce == 9)
        #expect(first.id != second.id)
        _ = try first.verified(chainId: Fixtures.chainId)
        var registrar = TransactionBuilder(chainId: Fixtures.chainId, key: Fixtures.key("registrar"), nextNonce: 0)
        let register = registrar.register(Fixtures.key("resident-3").publicKey, role: .resident, district: "north", ageBand: 2)
        #expect(register.transaction.body == .register(Register(account: Fixtures.key("resident-3").publicKey, role: .resident, district: "north", ageBand: 2)))
        var issuer = TransactionBuilder(chainId: Fixtures.chainId, key: Fixtures.key("coin-issuer"), nextNonce: 0)
        #expect(issuer.charge(to: Fixtures.key("resident-1").publicKey, amount: 1000, receiptId: "r").transaction.body
            == .charge(Charge(to: Fixtures.key("resident-1").publicKey, amount: 1000, channel: .app, receiptId: "r")))
        // The builder reproduces the vectors.
        var vectorRegistrar = TransactionBuilder(chainId: Fixtures.chainId, key: Fixtures.key("registrar"), nextNonce: 0)
        #expect(vectorRegistrar.register(Fixtures.key("resident-1").publicKey, role: .resident) == VectorGenerator.signedTransaction("register-resident-minimal"))
    }

    @Test func residentIdHash() {
        let salt: [UInt8] = [1, 2, 3]
        #expect(TransactionBuilder.residentIdHash(residentId: "abc", salt: salt) == Hash.sha256(salt + Array("abc".utf8)))
        #expect(TransactionBuilder.residentIdHash(residentId: "abc", salt: salt) != TransactionBuilder.residentIdHash(residentId: "abc", salt: [1, 2, 4]))
    }
}
