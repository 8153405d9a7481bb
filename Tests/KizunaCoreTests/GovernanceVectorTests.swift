import Foundation
import KizunaCore
import KizunaWallet
import Testing

/// The byte vectors of `govern` (tag 24, ADR 0018) that docs/wire-format.md §12 prints: the
/// body of a validator-set change and of a policy amendment, and the proposal hash a validator
/// signs, byte for byte.
@Suite("Governance vectors")
struct GovernanceVectorTests {
    static func pub(_ name: String) -> PublicKey { Fixtures.key(name).publicKey }

    /// The bank leaves; a one-validator "university" (the key `resident-3`) joins.
    static let setChange = GovernanceChange(effectiveHeight: 1_000, proposal: .validatorSet([
        Validator(name: "city", organisation: "City", publicKey: pub("validator-city"), votingPower: 1),
        Validator(name: "university", organisation: "University", publicKey: pub("resident-3"), votingPower: 1),
    ]))

    /// The coin holder cap raised to ¥200,000 (利用額上限増加).
    static var amendment: GovernanceChange {
        var policy = Genesis.defaultCoinPolicy
        policy.holderCapYen = 200_000
        return GovernanceChange(effectiveHeight: 2_000, proposal: .assetPolicy(asset: .coin, policy: policy))
    }

    static var computed: [String: String] {
        let approval = setChange.approve(chainId: Fixtures.chainId, with: Fixtures.key("validator-city"))
        return [
            "validator set change": setChange.canonicalBytes.hexString,
            "validator set proposal hash": setChange.proposalHash(chainId: Fixtures.chainId).hex,
            "policy amendment": amendment.canonicalBytes.hexString,
            "policy amendment proposal hash": amendment.proposalHash(chainId: Fixtures.chainId).hex,
            "govern body": TransactionBody.govern(Govern(change: setChange, approvals: [approval])).canonicalBytes.hexString,
        ]
    }

    static let expected: [String: String] = [
        "validator set change": "00000000000003e8010000000200000004636974790000000443697479467764e201e3759143051f1dd8488f67d592bccc20163ccc2e6bb5a8d033c06800000000000000010000000a756e69766572736974790000000a556e69766572736974791d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce061180000000000000001",
        "validator set proposal hash": "4fb250bcc8709dd698232fbc56bf418c33086af526279cb170d1cefa77324802",
        "policy amendment": "00000000000007d002010000000000030d4000000000000186a000000000000493e0000000640000009600000096010000000c",
        "policy amendment proposal hash": "ec8c965e852a6ebc149f36e086b6644f30bab873fca4e6427d275d004331a80c",
        "govern body": "1800000000000003e8010000000200000004636974790000000443697479467764e201e3759143051f1dd8488f67d592bccc20163ccc2e6bb5a8d033c06800000000000000010000000a756e69766572736974790000000a556e69766572736974791d3ce6cdb60da662b7b1e5b925290a8ab6017d26ce938c9f913a0e927ce06118000000000000000100000001467764e201e3759143051f1dd8488f67d592bccc20163ccc2e6bb5a8d033c0686cb66b508d7e16ff699fe8e2c6d062c2f1f84dce511775fda4272fe82d2438c4bbd3639d2306ee3d43621ec5829c09a00376f0f04aaa38755556f3ecf216f305",
    ]

    @Test("every governance vector encodes to its documented hex and decodes back")
    func vectors() throws {
        let computed = Self.computed
        if ProcessInfo.processInfo.environment["KIZUNA_PRINT_VECTORS"] != nil {
            for key in computed.keys.sorted() { print("vector \(key): \(computed[key]!)") }
        }
        #expect(!Self.expected.isEmpty)
        for (name, hex) in Self.expected { #expect(computed[name] == hex, "\(name)") }
        for change in [Self.setChange, Self.amendment] {
            #expect(try GovernanceChange(canonicalBytes: change.canonicalBytes) == change)
        }
        let body = try TransactionBody(canonicalBytes: try #require([UInt8](hex: computed["govern body"]!)))
        guard case .govern(let govern) = body else { Issue.record("not a govern body"); return }
        #expect(govern.change == Self.setChange && govern.approvals.count == 1)
        // An unknown proposal kind is refused.
        var bytes = Self.amendment.canonicalBytes
        bytes[8] = 5
        #expect(throws: DecodingError.self) { try GovernanceChange(canonicalBytes: bytes) }
    }

    @Test("an approval verifies for its change only: not for another height, proposal or chain")
    func approvalsAreBound() {
        let key = Fixtures.key("validator-city")
        let approval = Self.setChange.approve(chainId: Fixtures.chainId, with: key)
        let message = Self.setChange.proposalHash(chainId: Fixtures.chainId).bytes
        #expect(key.publicKey.isValidSignature(approval.signature, for: message))
        var later = Self.setChange
        later.effectiveHeight += 1
        #expect(!key.publicKey.isValidSignature(approval.signature, for: later.proposalHash(chainId: Fixtures.chainId).bytes))
        #expect(!key.publicKey.isValidSignature(approval.signature, for: Self.setChange.proposalHash(chainId: "local-other").bytes))
        #expect(!key.publicKey.isValidSignature(approval.signature, for: Self.amendment.proposalHash(chainId: Fixtures.chainId).bytes))
    }

    @Test("the proposal file: each organisation signs its copy, the copies merge, the body verifies; a changed file or approval is refused")
    func proposalFile() throws {
        let chainId = Fixtures.chainId
        let file = GovernanceProposalFile(chainId: chainId, change: Self.setChange)
        var city = file
        try city.sign(with: Fixtures.key("validator-city"))
        var chamber = file
        try chamber.sign(with: Fixtures.key("validator-chamber"))
        var combined = city
        try combined.merge(chamber)
        try combined.merge(chamber)
        #expect(combined.approvals.count == 2)
        let govern = try combined.govern()
        #expect(govern.change == Self.setChange)
        #expect(Set(govern.approvals.map(\.signer)) == [Fixtures.key("validator-city").publicKey, Fixtures.key("validator-chamber").publicKey])
        // JSON round trip.
        let decoded = try JSONDecoder().decode(GovernanceProposalFile.self, from: JSONEncoder().encode(combined))
        #expect(decoded.proposalHash == combined.proposalHash && decoded.approvals == combined.approvals)
        #expect(try decoded.change() == Self.setChange)
        // A file whose proposal was changed after it was written.
        var changed = combined
        changed.effectiveHeight += 1
        #expect(throws: GovernanceProposalFile.FileError(.hashMismatch, "")) { try changed.govern() }
        #expect(throws: GovernanceProposalFile.FileError(.hashMismatch, "")) { try combined.merge(GovernanceProposalFile(chainId: chainId, change: Self.amendment)) }
        // An approval that does not verify.
        var forged = combined
        forged.approvals[0].signature = String(repeating: "0", count: 128)
        #expect(throws: GovernanceProposalFile.FileError(.badApproval, "")) { try forged.govern() }
        var neither = file
        neither.validators = nil
        #expect(throws: GovernanceProposalFile.FileError(.invalidFile, "")) { try neither.change() }
    }
}
