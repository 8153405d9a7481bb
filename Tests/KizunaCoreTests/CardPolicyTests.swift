import Foundation
import KizunaCore
import KizunaWallet
import Testing

/// The genesis card policy (issue 19) and the card id of the card's QR code.
@Suite("Card policy in genesis")
struct CardPolicyTests {
    static let policy = CardPolicy(holderCapYen: 30_000, perPaymentCapYen: 10_000, perDayCapYen: 20_000)

    @Test("without a cardPolicy a genesis hashes as before; with one, 01 ‖ policy is appended to the hashed bytes")
    func canonicalBytes() throws {
        let plain = try Genesis(document: GenesisTests.document())
        #expect(plain.cardPolicy == nil)
        #expect(!String(decoding: plain.jsonData(), as: UTF8.self).contains("cardPolicy"), "the JSON of a genesis without cards is unchanged")
        var document = GenesisTests.document()
        document.cardPolicy = Self.policy
        let carded = try Genesis(json: JSONEncoder().encode(document))
        #expect(carded.cardPolicy == Self.policy)
        let policyBytes: [UInt8] = [0, 0, 0, 0, 0, 0, 0x75, 0x30, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0, 0, 0, 0, 0, 0, 0x4E, 0x20]
        #expect(Self.policy.canonicalBytes == policyBytes)
        #expect(carded.canonicalBytes == plain.canonicalBytes + [0x01] + policyBytes)
        #expect(carded.hash != plain.hash)
        let again = try Genesis(json: carded.jsonData())
        #expect(again == carded && again.hash == carded.hash)
        #expect(try CardPolicy(canonicalBytes: policyBytes) == Self.policy)
    }

    @Test("genesis.invalid_policy: zero caps, a card cap above the coin cap, a payment cap above the day cap")
    func invalidPolicies() {
        for bad in [CardPolicy(holderCapYen: 0, perPaymentCapYen: 1, perDayCapYen: 1),
                    CardPolicy(holderCapYen: Genesis.defaultCoinPolicy.holderCapYen + 1, perPaymentCapYen: 1, perDayCapYen: 1),
                    CardPolicy(holderCapYen: 1_000, perPaymentCapYen: 2_000, perDayCapYen: 1_000)] {
            var document = GenesisTests.document()
            document.cardPolicy = bad
            #expect(GenesisTests.code(document) == .invalidPolicy)
        }
        var fine = GenesisTests.document()
        fine.cardPolicy = CardPolicy.suggested
        #expect(GenesisTests.code(fine) == nil)
    }

    @Test("a card id is 32 lower-case hex digits; the QR text is kizuna-card:<id>")
    func cardIds() throws {
        let id = CardId.random()
        #expect(id.description.count == 32)
        #expect(CardId(id.description) == id && CardId(id.qrText) == id && CardId(" \(id.qrText)\n") == id)
        for bad in ["", "kizuna-card:", String(repeating: "A", count: 32), String(repeating: "0", count: 31), String(repeating: "g", count: 32)] {
            #expect(CardId(bad) == nil, "\(bad)")
        }
        let json = try JSONEncoder().encode(id)
        #expect(try JSONDecoder().decode(CardId.self, from: json) == id)
    }
}
