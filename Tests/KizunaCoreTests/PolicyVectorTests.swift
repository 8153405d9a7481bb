import Foundation
import KizunaCore
import KizunaWallet
import Testing

/// The byte vectors of issue 18's last slice (ADR 0021) that docs/wire-format.md prints:
/// `set_rebate_tiers` (tag 34) and the governance proposals of kind 3 (charge channels) and 4
/// (category fees), with their proposal hashes.
@Suite("Policy vectors")
struct PolicyVectorTests {
    static let tiers = SetRebateTiers(program: 5, tiers: [RebateTier(minimumMonthlySpendYen: 10_000, basisPoints: 500), RebateTier(minimumMonthlySpendYen: 30_000, basisPoints: 1_000)])
    static let channels = GovernanceChange(effectiveHeight: 3_000, proposal: .chargeChannels([
        ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 100), ChargeChannelDefinition(id: 2, name: "charge_machine", bonusBasisPoints: 150),
        ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 300),
    ]))
    static let fees = GovernanceChange(effectiveHeight: 3_000, proposal: .categoryFees(asset: .coin, fees: [
        CategoryFee(merchantCategory: "restaurant", basisPoints: 0), CategoryFee(merchantCategory: "supermarket", basisPoints: 50),
    ]))

    static var computed: [String: String] {
        [
            "set_rebate_tiers": TransactionBody.setRebateTiers(tiers).canonicalBytes.hexString,
            "set_rebate_tiers removing": TransactionBody.setRebateTiers(SetRebateTiers(program: 5, tiers: [])).canonicalBytes.hexString,
            "charge channels change": channels.canonicalBytes.hexString,
            "charge channels proposal hash": channels.proposalHash(chainId: Fixtures.chainId).hex,
            "category fees change": fees.canonicalBytes.hexString,
            "category fees proposal hash": fees.proposalHash(chainId: Fixtures.chainId).hex,
        ]
    }

    static let expected: [String: String] = [
        "set_rebate_tiers": "220000000000000005000000020000000000002710000001f40000000000007530000003e8",
        "set_rebate_tiers removing": "22000000000000000500000000",
        "charge channels change": "0000000000000bb80300000003010000000361707000000064020000000e6368617267655f6d616368696e6500000096030000000d62616e6b5f7472616e736665720000012c",
        "charge channels proposal hash": "445e20e3c4f11b778fc2da6226d1a93b6406f34ecab1f33c8ffceef17cda837e",
        "category fees change": "0000000000000bb80401000000020000000a72657374617572616e74000000000000000b73757065726d61726b657400000032",
        "category fees proposal hash": "25621310cad3a124bc45915744e4aca88232dd0efaf4d08b14e4fa4848763780",
    ]

    @Test("every vector of tag 34 and proposal kinds 3 and 4 encodes to its documented hex and decodes back")
    func vectors() throws {
        let computed = Self.computed
        if ProcessInfo.processInfo.environment["KIZUNA_PRINT_VECTORS"] != nil {
            for key in computed.keys.sorted() { print("vector \(key): \(computed[key]!)") }
        }
        #expect(Self.expected.count == computed.count)
        for (name, hex) in Self.expected { #expect(computed[name] == hex, "\(name): \(computed[name] ?? "")") }
        #expect(try TransactionBody(canonicalBytes: TransactionBody.setRebateTiers(Self.tiers).canonicalBytes) == .setRebateTiers(Self.tiers))
        #expect(TransactionBody.setRebateTiers(Self.tiers).tag == 34 && TransactionBody.setRebateTiers(Self.tiers).kind == "set_rebate_tiers")
        for change in [Self.channels, Self.fees] { #expect(try GovernanceChange(canonicalBytes: change.canonicalBytes) == change) }
        #expect(Self.channels.proposal.kindNumber == 3 && Self.fees.proposal.kindNumber == 4)
        // More than 16 channels, or 32 category fees, does not decode.
        var tooMany = Encoder()
        tooMany.encode(UInt64(1), UInt8(3), UInt32(17))
        #expect(throws: DecodingError.self) { try GovernanceChange(canonicalBytes: tooMany.bytes) }
    }

    @Test("the wallet builds set_rebate_tiers: the issuer's key, its next nonce, the body of the vector")
    func builder() throws {
        var city = TransactionBuilder(chainId: Fixtures.chainId, key: Fixtures.key("city"), nextNonce: 3)
        let signed = city.setRebateTiers(program: 5, tiers: Self.tiers.tiers)
        #expect(signed.transaction.body == .setRebateTiers(Self.tiers) && signed.transaction.nonce == 3 && signed.transaction.signer == Fixtures.key("city").publicKey)
        #expect(try signed.verified(chainId: Fixtures.chainId).id == signed.id)
    }

    @Test("proposal files of kinds 3 and 4 round-trip through JSON; a file naming two proposals is refused")
    func proposalFiles() throws {
        for change in [Self.channels, Self.fees] {
            var file = GovernanceProposalFile(chainId: Fixtures.chainId, change: change)
            try file.sign(with: Fixtures.key("validator-city"))
            let decoded = try JSONDecoder().decode(GovernanceProposalFile.self, from: JSONEncoder().encode(file))
            #expect(try decoded.change() == change)
            #expect(try decoded.govern().approvals.count == 1)
        }
        var both = GovernanceProposalFile(chainId: Fixtures.chainId, change: Self.fees)
        both.chargeChannels = [ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 100)]
        #expect(throws: GovernanceProposalFile.FileError(.invalidFile, "")) { try both.change() }
    }
}
