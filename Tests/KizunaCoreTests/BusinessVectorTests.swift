import Foundation
import KizunaCore
import Testing

/// The byte vectors of the business kinds, role and genesis part (issue 21) that
/// docs/wire-format.md §10 "Vectors of the business kinds" prints: each encoding here must be
/// the documented hex, byte for byte.
@Suite("Business vectors")
struct BusinessVectorTests {
    static func pub(_ name: String) -> PublicKey { Fixtures.key(name).publicKey }

    /// A farm (the key `resident-3`, registered as a business) bills merchant-1.
    static let issue = Transaction(chainId: Fixtures.chainId, signer: pub("resident-3"), nonce: 0, body: .issueInvoice(IssueInvoice(
        payer: pub("merchant-1"), amount: 54_000, dueAt: CivilTime.parseRFC3339("2026-04-30T23:59:59+09:00")!, reference: "INV-2026-0001")))

    static var bodies: [(name: String, body: TransactionBody)] {
        [
            ("pay_business", .payBusiness(PayBusiness(to: pub("resident-3"), amount: 12_000, reference: "PO-7"))),
            ("issue_invoice", issue.body),
            ("pay_invoice", .payInvoice(PayInvoice(invoice: issue.id, issuer: pub("resident-3"), amount: 20_000))),
            ("cancel_invoice", .cancelInvoice(CancelInvoice(invoice: issue.id, payer: pub("merchant-1")))),
            ("update_consent", .updateConsent(UpdateConsent(district: "東町", ageBand: 4, analytics: true))),
            ("update_consent withdrawn", .updateConsent(.withdrawn)),
        ]
    }

    static let expected: [String: String] = [
        "pay_business": "131d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce061180000000000002ee000000004504f2d37",
        "issue_invoice": "14eaf280410fde63af95126a42983835a998d2c76f69648346284886601cf9b8e1000000000000d2f00000019ddee761980000000d494e562d323032362d30303031",
        "pay_invoice": "1546e9e488ba801df2415f8da1384c8f3609db243cfa3664bd7fd825ae1d0c36721d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce061180000000000004e20",
        "cancel_invoice": "1646e9e488ba801df2415f8da1384c8f3609db243cfa3664bd7fd825ae1d0c3672eaf280410fde63af95126a42983835a998d2c76f69648346284886601cf9b8e1",
        "update_consent": "170100000006e69db1e794ba010401",
        "update_consent withdrawn": "17000000",
        "issue id": "46e9e488ba801df2415f8da1384c8f3609db243cfa3664bd7fd825ae1d0c3672",
        "register visitor": "011d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce061180600000000",
        "visitorPolicy part": "020000000000004e2000000000000013880000001e",
    ]

    static var computed: [String: String] {
        var result: [String: String] = [:]
        for (name, body) in bodies { result[name] = body.canonicalBytes.hexString }
        result["issue id"] = issue.id.hex
        result["register visitor"] = TransactionBody.register(Register(account: pub("resident-3"), role: .visitor)).canonicalBytes.hexString
        var encoder = Encoder()
        encoder.encode(UInt8(0x02), VisitorPolicy(holderCapYen: 20_000, paymentLimitPerTransactionYen: 5_000, accountLifetimeDays: 30))
        result["visitorPolicy part"] = encoder.bytes.hexString
        return result
    }

    @Test("every business vector encodes to its documented hex and decodes back")
    func vectors() throws {
        let computed = Self.computed
        if ProcessInfo.processInfo.environment["KIZUNA_PRINT_VECTORS"] != nil {
            for key in computed.keys.sorted() { print("vector \(key): \(computed[key]!)") }
        }
        for (name, hex) in Self.expected { #expect(computed[name] == hex, "\(name)") }
        for (_, body) in Self.bodies { #expect(try TransactionBody(canonicalBytes: body.canonicalBytes) == body) }
        // A withdrawal with an attribute decodes (the ledger refuses it); a bool byte 2 does not.
        #expect(throws: DecodingError.self) { try TransactionBody(canonicalBytes: [23, 0, 0, 2]) }
        #expect(throws: DecodingError.self) { try TransactionBody(canonicalBytes: [24]) }
    }
}
