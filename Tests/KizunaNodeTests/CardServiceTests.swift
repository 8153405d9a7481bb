import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import NIOCore
import KizunaCore
import KizunaWallet
@testable import KizunaCardService

/// The card custodian in process (issue 19, docs/cards.md): its configuration, its vault, and
/// its routes' refusals that need no node (the node URL points at a closed port). The flows
/// with a node are in `CardServiceProcessTests`.
@Suite("Card custodian")
struct CardServiceTests {
    static let registrar = DevelopmentKeys.privateKey("registrar")
    static let genesis = Genesis(
        chainId: "local-card-test",
        genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
        validators: [Validator(name: "city", organisation: "Test", publicKey: DevelopmentKeys.privateKey("validator-city").publicKey, votingPower: 1)],
        authorities: Authorities(coinIssuer: DevelopmentKeys.privateKey("coin-issuer").publicKey, registrar: registrar.publicKey,
                                 city: DevelopmentKeys.privateKey("city").publicKey, auditor: DevelopmentKeys.privateKey("auditor").publicKey),
        coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy, cardPolicy: .suggested
    )

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-card-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func code(_ body: () throws(CardServiceError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.code.rawValue
        }
    }

    static func custodian(_ folder: URL, passphrase: String = "a long enough passphrase", genesis: Genesis = genesis) throws(CardServiceError) -> CardCustodian {
        let configuration = CardServiceConfiguration(genesisFile: "", dataDirectory: folder.appendingPathComponent("data").path, keyPassphraseFile: "",
                                                     nodeURL: "http://127.0.0.1:1", pinScryptLogN: 10, commitWaitMilliseconds: 1_000)
        // A fixed clock: under the whole suite's load a request may wait long between its
        // signing and its check, which this test is not about.
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        return try CardCustodian(configuration: configuration, genesis: genesis, passphrase: passphrase, token: "t", metrics: CardServiceMetrics(), logger: Logger(label: "test"), clock: { now })
    }

    @Test("card.bad_config: the configuration's fields, defaults, paths, and refusals")
    func configuration() throws {
        let folder = URL(fileURLWithPath: "/srv/card")
        let parsed = try CardServiceConfiguration.parse("""
        genesisFile = "genesis.json"
        dataDirectory = "/var/lib/card"
        keyPassphraseFile = "vault.pass"
        [node]
        url = "http://127.0.0.1:8081"
        [pin]
        attemptsMax = 5
        [metrics]
        listen = "127.0.0.1:9190"
        """, name: "t", folder: folder)
        #expect(parsed.genesisFile == "/srv/card/genesis.json" && parsed.dataDirectory == "/var/lib/card" && parsed.keyPassphraseFile == "/srv/card/vault.pass")
        #expect(parsed.pinAttemptsMax == 5 && parsed.pinScryptLogN == 14 && parsed.port == 8090 && parsed.host == "127.0.0.1" && parsed.metricsListen == "127.0.0.1:9190")
        let base = "genesisFile = \"g\"\ndataDirectory = \"d\"\nkeyPassphraseFile = \"p\"\n"
        for bad in [base, base + "[node]\nurl = \"ftp://x\"", base + "typo = 1\n[node]\nurl = \"http://x\"", base + "[node]\nurl = \"http://x\"\n[pin]\nscryptLogN = 30",
                    base + "[node]\nurl = \"http://x\"\n[metrics]\nlisten = \"nowhere\"", "[node]\nurl = \"http://x\"", base + "[node]\nurl = \"http://x\"\nretries = 2"] {
            #expect(Self.code { () throws(CardServiceError) in _ = try CardServiceConfiguration.parse(bad, name: "t", folder: folder) } == "card.bad_config", "\(bad)")
        }
        #expect(Self.code { () throws(CardServiceError) in _ = try parsed.token(environment: [:]) } == "card.bad_config", "a token is required")
        #expect(try parsed.token(environment: ["KIZUNA_TOKEN": " abc\n"]) == "abc")
        // The example the command prints parses.
        #expect(try CardServiceConfiguration.parse(CardServiceConfiguration.example, name: "example", folder: folder).nodeURL == "http://127.0.0.1:8081")
    }

    @Test("card.wrong_passphrase: the vault opens with its passphrase only; sealed keys open only under their vault and card")
    func vault() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try Self.custodian(folder)
        first.close()
        #expect(Self.code { () throws(CardServiceError) in try Self.custodian(folder, passphrase: "another long passphrase").close() } == "card.wrong_passphrase")
        #expect(Self.code { () throws(CardServiceError) in try Self.custodian(folder, passphrase: "short").close() } == "card.wrong_passphrase")
        var noCards = Self.genesis
        noCards.cardPolicy = nil
        #expect(Self.code { () throws(CardServiceError) in try Self.custodian(folder, genesis: noCards).close() } == "card.bad_config")
        try Self.custodian(folder).close()

        let (vault, _) = try CardVault.open(passphrase: "a long enough passphrase", record: nil)
        let (otherVault, _) = try CardVault.open(passphrase: "a long enough passphrase", record: nil)
        let key = PrivateKey()
        let card = CardId.random()
        let sealed = try vault.sealKey(key, card: card)
        #expect(!sealed.contains(subsequence: key.seed), "the seed is not stored in the clear")
        #expect(try vault.openKey(sealed, card: card, account: key.publicKey.address.description).publicKey == key.publicKey)
        #expect(Self.code { () throws(CardServiceError) in _ = try vault.openKey(sealed, card: CardId.random(), account: key.publicKey.address.description) } == "card.store")
        #expect(Self.code { () throws(CardServiceError) in _ = try otherVault.openKey(sealed, card: card, account: key.publicKey.address.description) } == "card.store", "another salt, another vault key")
        // The PIN hash depends on the PIN, the card, the salt and the vault (the pepper).
        let salt = [UInt8](repeating: 1, count: 16)
        let hash = try vault.pinHash("1234", card: card, salt: salt, logN: 10)
        #expect(try vault.pinHash("1234", card: card, salt: salt, logN: 10) == hash)
        #expect(try vault.pinHash("1235", card: card, salt: salt, logN: 10) != hash)
        #expect(try vault.pinHash("1234", card: CardId.random(), salt: salt, logN: 10) != hash)
        #expect(try otherVault.pinHash("1234", card: card, salt: salt, logN: 10) != hash)
        #expect(CardVault.isWellFormed(pin: "0000") && CardVault.isWellFormed(pin: "123456789012"))
        #expect(!CardVault.isWellFormed(pin: "123") && !CardVault.isWellFormed(pin: "1234567890123") && !CardVault.isWellFormed(pin: "12a4") && !CardVault.isWellFormed(pin: "１２３４"))
    }

    /// A signed request's headers for the test client.
    static func headers(_ key: PrivateKey, _ method: String, _ target: String, _ body: [UInt8], at time: UInt64) -> HTTPFields {
        var fields = HTTPFields()
        let signer = RequestSigner(chainId: genesis.chainId, key: key)
        for (name, value) in signer.headers(method: method, target: target, timestampMilliseconds: time, body: body) {
            fields[HTTPField.Name(name)!] = value
        }
        fields[.contentType] = "application/json"
        return fields
    }

    @Test("routes: card.bad_pin_format, card.unknown_card, card.bad_request, card.not_registrar, auth.required, card.node_unavailable")
    func routes() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let custodian = try Self.custodian(folder)
        defer { custodian.close() }
        let app = Application(router: CardServiceServer.router(custodian: custodian, logger: Logger(label: "test")))
        let merchant = PrivateKey()
        try await app.test(.router) { client in
            func call(_ key: PrivateKey?, _ method: HTTPRequest.Method, _ target: String, _ json: String?) async throws -> (status: Int, code: String?, body: String) {
                let body = Array((json ?? "").utf8)
                // The custodian's own clock stamps the request (the node layer's clock may be shifted).
                let headers = key.map { Self.headers($0, method.rawValue, target, body, at: custodian.clock()) } ?? [:]
                return try await client.execute(uri: target, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
                    let text = String(buffer: response.body)
                    let code = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["code"] as? String
                    return (Int(response.status.code), code, text)
                }
            }
            let shortPin = try await call(Self.registrar, .post, "/v1/cards", #"{"pin":"12"}"#)
            #expect(shortPin.code == "card.bad_pin_format", "\(shortPin.body)")
            let issued = try await call(Self.registrar, .post, "/v1/cards", #"{"pin":"4321"}"#)
            #expect(issued.status == 201, "\(issued.body)")
            let card = try JSONDecoder().decode(CardServiceMessages.CardView.self, from: Data(issued.body.utf8))
            #expect(try await call(Self.registrar, .get, "/v1/cards/\(card.cardId)", nil).status == 200)
            #expect(try await call(merchant, .get, "/v1/cards/\(card.cardId)", nil).code == "card.not_registrar")
            #expect(try await call(nil, .post, "/v1/cards", #"{"pin":"4321"}"#).code == "auth.required")
            let unknown = CardId.random()
            #expect(try await call(Self.registrar, .get, "/v1/cards/\(unknown)", nil).code == "card.unknown_card")
            #expect(try await call(Self.registrar, .get, "/v1/cards/not-a-card", nil).code == "card.bad_request")
            #expect(try await call(Self.registrar, .post, "/v1/cards/\(unknown)/unlock", "{}").code == "card.unknown_card")
            func payment(_ id: CardId, nonce: String = String(repeating: "ab", count: 16)) -> String {
                #"{"amountYen":100,"cardId":"\#(id)","pin":"4321","requestNonce":"\#(nonce)","time":\#(custodian.clock())}"#
            }
            #expect(try await call(merchant, .post, "/v1/payments", #"{"cardId":"x"}"#).code == "card.bad_request")
            #expect(try await call(merchant, .post, "/v1/payments", payment(card.cardId, nonce: "short")).code == "card.bad_request")
            #expect(try await call(merchant, .post, "/v1/payments", payment(unknown)).code == "card.unknown_card")
            let down = try await call(merchant, .post, "/v1/payments", payment(card.cardId))
            #expect(down.status == 503 && down.code == "card.node_unavailable", "\(down.body)")
            // Nothing was counted against the card: the merchant could not be checked.
            #expect(try custodian.view(card.cardId).failedPinAttempts == 0)
        }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
