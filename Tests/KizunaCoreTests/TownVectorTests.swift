import Foundation
import KizunaCore
import Testing

/// The byte vectors of issue 18's second slice (premium sales, genesis channels, event
/// bonuses, payments to organisations, standing orders, the genesis parts 03 and 04) that
/// docs/wire-format.md §10 "Vectors of the issue-18 kinds" prints, byte for byte. The order id
/// and the keys are those of the business vectors.
@Suite("Town vectors")
struct TownVectorTests {
    static func pub(_ name: String) -> PublicKey { Fixtures.key(name).publicKey }
    static var order: Hash { BusinessVectorTests.issue.id }

    static var bodies: [(name: String, body: TransactionBody)] {
        [
            ("set_premium", .setPremium(SetPremium(program: 3, rule: PremiumRule(unitYen: 1_000, premiumPerUnitYen: 300)))),
            ("charge_extended", .chargeExtended(ChargeExtended(to: pub("resident-3"), amount: 10_000, channel: 3, receiptId: "BT-0001", premiumProgram: 3))),
            ("charge_extended without premium", .chargeExtended(ChargeExtended(to: pub("resident-3"), amount: 10_000, channel: 1, receiptId: "APP-0002"))),
            ("pay_public", .payPublic(PayPublic(to: pub("merchant-1"), amount: 12_000, purpose: .tax, reference: "TAX-2026-1"))),
            ("authorise_standing_order", .authoriseStandingOrder(AuthoriseStandingOrder(payee: pub("merchant-1"), capYen: 1_000, purpose: .fee, reference: "CLUB-7",
                                                                                         schedule: StandingOrderSchedule(firstMonth: 202608, dayOfMonth: 10, intervalMonths: 1, instalments: 12)))),
            ("pay_instalment", .payInstalment(PayInstalment(order: order, payer: pub("resident-3"), amount: 1_000))),
            ("cancel_standing_order", .cancelStandingOrder(CancelStandingOrder(order: order, payee: pub("merchant-1")))),
            ("set_event_bonus", .setEventBonus(SetEventBonus(program: 4, event: .firstCharge, amountYen: 500))),
            ("register organisation", .register(Register(account: pub("merchant-1"), role: .organisation, merchantCategory: OrganisationKind.publicBody))),
        ]
    }

    static let expected: [String: String] = [
        "set_premium": "1b000000000000000300000000000003e8000000000000012c00000000",
        "charge_extended": "1c1d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce061180000000000002710030000000742542d30303031010000000000000003",
        "charge_extended without premium": "1c1d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce06118000000000000271001000000084150502d3030303200",
        "pay_public": "1deaf280410fde63af95126a42983835a998d2c76f69648346284886601cf9b8e10000000000002ee0010000000a5441582d323032362d31",
        "authorise_standing_order": "1eeaf280410fde63af95126a42983835a998d2c76f69648346284886601cf9b8e100000000000003e80200000006434c55422d37000317700a010000000c",
        "pay_instalment": "1f46e9e488ba801df2415f8da1384c8f3609db243cfa3664bd7fd825ae1d0c36721d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce0611800000000000003e8",
        "cancel_standing_order": "2046e9e488ba801df2415f8da1384c8f3609db243cfa3664bd7fd825ae1d0c3672eaf280410fde63af95126a42983835a998d2c76f69648346284886601cf9b8e1",
        "set_event_bonus": "2100000000000000040100000000000001f4",
        "register organisation": "01eaf280410fde63af95126a42983835a998d2c76f69648346284886601cf9b8e10701000000067075626c6963000000",
        "registrationPolicy part": "0301",
        "chargeChannels part": "0400000003010000000361707000000064020000000e6368617267655f6d616368696e6500000096030000000d62616e6b5f7472616e736665720000012c",
    ]

    static var computed: [String: String] {
        var result: [String: String] = [:]
        for (name, body) in bodies { result[name] = body.canonicalBytes.hexString }
        var encoder = Encoder()
        encoder.encode(RegistrationPolicy.genesisTag, RegistrationPolicy(residentIdRequired: true))
        result["registrationPolicy part"] = encoder.bytes.hexString
        encoder = Encoder()
        encoder.encode(ChargeChannelDefinition.genesisTag, [
            ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 100), ChargeChannelDefinition(id: 2, name: "charge_machine", bonusBasisPoints: 150),
            ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 300),
        ])
        result["chargeChannels part"] = encoder.bytes.hexString
        return result
    }

    @Test("every issue-18 vector encodes to its documented hex and decodes back; tags 27–33 are the new kinds")
    func vectors() throws {
        let computed = Self.computed
        for (name, hex) in Self.expected { #expect(computed[name] == hex, "\(name): \(computed[name] ?? "")") }
        for (_, body) in Self.bodies { #expect(try TransactionBody(canonicalBytes: body.canonicalBytes) == body) }
        #expect(Self.bodies.map(\.body.tag).dropLast() == [27, 28, 28, 29, 30, 31, 32, 33])
        // A purpose or bonus event outside its set, or a role above 7, does not decode.
        #expect(throws: DecodingError.self) { try TransactionBody(canonicalBytes: [0x21] + [UInt8](repeating: 0, count: 8) + [3] + [UInt8](repeating: 0, count: 8)) }
        #expect(throws: DecodingError.self) { try Role(canonicalBytes: [8]) }
        #expect(throws: DecodingError.self) { try TransactionBody(canonicalBytes: [35]) }
    }
}
