import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import KizunaCore
import KizunaLedger
import KizunaNode
import KizunaChain
import KizunaWallet

/// `GET /v1/governance` (ADR 0018, docs/api.md §11): the amendments on chain and the policies in
/// force at a height, before and after the effective height; heights the chain cannot know yet
/// are refused.
@Suite("Governance API")
struct GovernanceAPITests {
    typealias F = APIFixture

    @Test func amendmentsAndThePoliciesInForceAtAHeight() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let tip = try fixture.node.tip().height
        var policy = Genesis.defaultCoinPolicy
        policy.holderCapYen = 250_000
        let effective = tip + 12
        let change = GovernanceChange(effectiveHeight: effective, proposal: .assetPolicy(asset: .coin, policy: policy))
        let nonce = try fixture.node.account(F.city.publicKey)?.nonce ?? 0
        var city = TransactionBuilder(chainId: F.chainId, key: F.city, nextNonce: nonce)
        let block = try await fixture.commit([city.govern(Govern(change: change, approvals: [change.approve(chainId: F.chainId, with: F.validatorKey)]))])
        #expect(block.transactions.count == 1)
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/governance", method: .get) { response in
                #expect(response.status == .ok)
                let json = try #require(response.json)
                #expect(json["leadBlocksMin"] as? Int == 10)
                #expect((json["validatorSets"] as? [[String: Any]])?.count == 1)
                let amendments = try #require(json["policyAmendments"] as? [[String: Any]])
                #expect(amendments.count == 1 && amendments.first?["asset"] as? String == "coin" && amendments.first?["effectiveHeight"] as? Int == Int(effective))
                #expect(((json["policies"] as? [String: Any])?["coin"] as? [String: Any])?["holderCapYen"] as? Int == 100_000)
            }
            try await client.execute(uri: "/v1/governance?height=\(effective)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(((response.json?["policies"] as? [String: Any])?["coin"] as? [String: Any])?["holderCapYen"] as? Int == 250_000)
            }
            try await client.execute(uri: "/v1/governance?height=\(effective + 100)", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.code == "api.no_such_block")
            }
            try await client.execute(uri: "/v1/governance?height=0", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.code == "api.bad_height")
            }
        }
    }

    /// Charge channels and category fees by amendment (ADR 0021): listed with their effective
    /// height, and in force from it.
    @Test func channelsAndCategoryFeesInForceAtAHeight() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        let effective = try fixture.node.tip().height + 12
        let channels = [ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 100), ChargeChannelDefinition(id: 2, name: "charge_machine", bonusBasisPoints: 150),
                        ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 300)]
        let proposals: [GovernanceProposal] = [.chargeChannels(channels), .categoryFees(asset: .coin, fees: [CategoryFee(merchantCategory: "restaurant", basisPoints: 0)])]
        let nonce = try fixture.node.account(F.city.publicKey)?.nonce ?? 0
        var city = TransactionBuilder(chainId: F.chainId, key: F.city, nextNonce: nonce)
        let transactions = proposals.map { proposal in
            let change = GovernanceChange(effectiveHeight: effective, proposal: proposal)
            return city.govern(Govern(change: change, approvals: [change.approve(chainId: F.chainId, with: F.validatorKey)]))
        }
        let block = try await fixture.commit(transactions)
        #expect(block.transactions.count == 2)
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/governance", method: .get) { response in
                let json = try #require(response.json)
                let amendments = try #require(json["townAmendments"] as? [[String: Any]])
                #expect(amendments.map { $0["kind"] as? String } == ["charge_channels", "category_fees"])
                #expect(amendments.allSatisfy { $0["effectiveHeight"] as? Int == Int(effective) })
                #expect((json["chargeChannels"] as? [[String: Any]])?.map { $0["name"] as? String } == ["app", "charge_machine"])
                #expect((json["categoryFees"] as? [String: Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/v1/governance?height=\(effective)", method: .get) { response in
                let json = try #require(response.json)
                #expect((json["chargeChannels"] as? [[String: Any]])?.map { $0["bonusBasisPoints"] as? Int } == [100, 150, 300])
                let fees = try #require((json["categoryFees"] as? [String: Any])?["coin"] as? [[String: Any]])
                #expect(fees.count == 1 && fees.first?["merchantCategory"] as? String == "restaurant" && fees.first?["basisPoints"] as? Int == 0)
            }
            // The block shows each proposal with its fields.
            try await client.execute(uri: "/v1/blocks/\(block.height)", method: .get, headers: F.bearer(F.auditorToken)) { response in
                let transactions = try #require(response.json?["transactions"] as? [[String: Any]])
                let bodies = transactions.compactMap { $0["body"] as? [String: Any] }
                #expect(bodies.map { $0["proposal"] as? String } == ["charge_channels", "category_fees"])
                #expect((bodies.first?["chargeChannels"] as? [[String: Any]])?.count == 3)
                #expect(bodies.last?["asset"] as? String == "coin" && (bodies.last?["categoryFees"] as? [[String: Any]])?.first?["merchantCategory"] as? String == "restaurant")
            }
        }
    }
}
