import Hummingbird
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaNode

/// `GET /v1/governance` (docs/api.md §2, ADR 0018): the validator sets and asset-policy
/// amendments governance made, and the policies in force at a height. Public, as the genesis
/// and `/v1/status` are: the consortium's rules are not secret.
extension APIServer {
    struct GovernanceResponse: Encodable {
        struct ValidatorSetEntry: Encodable {
            var fromHeight: UInt64
            var validatorSetHash: String
            var totalVotingPower: UInt64
            var validators: [StatusResponse.ValidatorEntry]
        }

        struct AmendmentEntry: Encodable {
            var effectiveHeight: UInt64
            var asset: String
            var policy: AssetPolicy
        }

        var height: UInt64
        /// The minimum lead: a change takes effect more than this many blocks after its block.
        var leadBlocksMin: UInt64
        var validatorSets: [ValidatorSetEntry]
        var policyAmendments: [AmendmentEntry]
        /// The policies in force at `height`.
        var policies: [String: AssetPolicy]
        /// Charge-channel and category-fee amendments (ADR 0021), by effective height.
        var townAmendments: [TownAmendmentView]
        /// The charge channels in force at `height`.
        var chargeChannels: [ChargeChannelDefinition]
        /// The redemption fees by merchant category in force at `height`, by asset (an asset
        /// absent: its policy's fee for every category).
        var categoryFees: [String: [CategoryFee]]
    }

    static func addGovernanceRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        router.get("/v1/governance") { request, _ in
            let next = try node.tip().height + 1
            var height = next
            if let text = request.uri.queryParameters.get("height") {
                guard let given = UInt64(text), given >= 1 else {
                    throw APIProblem(400, "api.bad_height", "height must be a block height (1 or more)")
                }
                // Well formed but not known yet: 404, as a report's height above the tip.
                guard given <= next + Ledger.governanceLeadBlocksMin else {
                    throw APIProblem(404, "api.no_such_block", "height \(given) is beyond what the chain knows (at most \(next + Ledger.governanceLeadBlocksMin): a change is scheduled at least \(Ledger.governanceLeadBlocksMin) blocks ahead)")
                }
                height = given
            }
            let schedule = try node.validatorSchedule()
            let policies = try node.policies(at: height)
            let town = try node.channelsAndFees(at: height)
            return try json(GovernanceResponse(
                height: height,
                leadBlocksMin: Ledger.governanceLeadBlocksMin,
                validatorSets: schedule.entries.map { entry in
                    .init(fromHeight: entry.from, validatorSetHash: entry.set.hash.hex, totalVotingPower: entry.set.totalVotingPower,
                          validators: entry.set.validators.map { .init(name: $0.name, organisation: $0.organisation, publicKey: $0.publicKey.address.description, votingPower: $0.votingPower, voting: nil) })
                },
                policyAmendments: try node.policyAmendments().map { .init(effectiveHeight: $0.effectiveHeight, asset: $0.asset.name, policy: $0.policy) },
                policies: ["coin": policies.coin, "point": policies.point, "thanks": policies.thanks],
                townAmendments: try node.townAmendments().map(TownAmendmentView.init),
                chargeChannels: town.channels,
                categoryFees: Dictionary(uniqueKeysWithValues: town.categoryFees.map { ($0.key.name, $0.value) })
            ))
        }
    }
}
