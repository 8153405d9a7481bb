import ArgumentParser
import Foundation
import KizunaCore
import KizunaLedger
import KizunaWallet

/// `kizuna governance propose | sign | combine | submit`: a validator-set change or a policy
/// amendment on a live chain (ADR 0018, docs/operations.md "Governance").
struct GovernanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "governance",
        abstract: "Change the validator set or an asset's policy on a running chain, with the validators' signatures.",
        discussion: """
        One organisation writes the proposal (`propose`); each organisation checks it and signs \
        its hash offline with its validator key (`sign`); the copies are merged (`combine`); an \
        authority submits it (`submit`). The chain accepts it when the approvals hold more than \
        two thirds of the voting power in force, and applies it from the effective height, which \
        must be more than \(Ledger.governanceLeadBlocksMin) blocks ahead of the block that carries it.
        """,
        subcommands: [Propose.self, Sign.self, Combine.self, Submit.self]
    )

    static func read(_ path: String) throws -> GovernanceProposalFile {
        try refusingAsUsage { try GovernanceProposalFile.read(path: path) }
    }

    static func describe(_ file: GovernanceProposalFile) throws -> String {
        let change = try refusingAsUsage { try file.change() }
        var text = "proposal \(file.proposalHash) on chain \(file.chainId), effective from height \(file.effectiveHeight):\n"
        switch change.proposal {
        case .validatorSet(let validators):
            text += "  the validator set becomes:\n"
            for validator in ValidatorSet(validators).validators {
                text += "    \(validator.name) (\(validator.organisation)) \(validator.publicKey.address) power \(validator.votingPower)\n"
            }
        case .assetPolicy(let asset, let policy):
            text += "  the \(asset.name) policy becomes: cap ¥\(policy.holderCapYen), send ¥\(policy.sendLimitPerTransactionYen)/tx ¥\(policy.sendLimitPerMonthYen)/month, "
            text += "bonus app \(policy.chargeBonusAppBasisPoints)bp machine \(policy.chargeBonusMachineBasisPoints)bp, redemption fee \(policy.redemptionFeeBasisPoints)bp\n"
        case .chargeChannels(let channels):
            text += "  the charge channels become: " + channels.map { "\($0.id) \($0.name) bonus \($0.bonusBasisPoints)bp" }.joined(separator: ", ") + "\n"
        case .categoryFees(let asset, let fees):
            text += "  the \(asset.name) redemption fees by merchant category become: "
            text += (fees.isEmpty ? "none (the asset's fee for every category)" : fees.map { "\($0.merchantCategory) \($0.basisPoints)bp" }.joined(separator: ", ")) + "\n"
        }
        text += "  approvals: \(file.approvals.count)" + (file.approvals.isEmpty ? "" : " (\(file.approvals.map(\.publicKey).joined(separator: ", ")))")
        return text
    }

    struct Propose: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a proposal file: a new validator set (--validators), an asset's new policy (--asset with --policy), the charge channels (--charge-channels) or an asset's fees by merchant category (--asset with --category-fees).",
            discussion: """
            --validators names a JSON array of {"name", "organisation", "publicKey", "votingPower"} \
            — the whole new set, as in genesis. --policy names a JSON asset policy as in genesis \
            (every field; the expiry rule must stay as it is). --charge-channels names a JSON array \
            of {"id", "name", "bonusBasisPoints"} as genesis `chargeChannels` (the whole new list). \
            --category-fees names a JSON array of {"merchantCategory", "basisPoints"} (the asset's \
            whole list; [] removes every category fee).
            """
        )

        @Option(help: "The chain id.") var chainId: String
        @Option(help: "The first height at which the change holds.") var effectiveHeight: UInt64
        @Option(help: "JSON file: the new validator set.") var validators: String?
        @Option(help: "coin, point or thanks (with --policy).") var asset: String?
        @Option(help: "JSON file: the asset's new policy.") var policy: String?
        @Option(help: "JSON file: the new charge channels.") var chargeChannels: String?
        @Option(help: "JSON file: the asset's redemption fees by merchant category.") var categoryFees: String?
        @Option(help: "Where to write the proposal.") var out: String

        func run() throws {
            let proposal: GovernanceProposal
            switch (validators, asset, policy, chargeChannels, categoryFees) {
            case (let path?, nil, nil, nil, nil):
                let entries: [GenesisDocument.ValidatorEntry] = try Self.decode(path)
                var list: [Validator] = []
                for entry in entries {
                    guard let address = try? Address(parsing: entry.publicKey) else { throw ValidationError("validator '\(entry.name)': '\(entry.publicKey)' is not a kz1… address") }
                    list.append(Validator(name: entry.name, organisation: entry.organisation, publicKey: address.publicKey, votingPower: entry.votingPower))
                }
                if let problem = ValidatorSet.problem(list) { throw ValidationError(problem) }
                proposal = .validatorSet(list)
            case (nil, let name?, let path?, nil, nil):
                guard let asset = Asset(name: name) else { throw ValidationError("--asset must be coin, point or thanks") }
                let policy: AssetPolicy = try Self.decode(path)
                if let problem = policy.limitsProblem(assetName: name) { throw ValidationError(problem) }
                proposal = .assetPolicy(asset: asset, policy: policy)
            case (nil, nil, nil, let path?, nil):
                let channels: [ChargeChannelDefinition] = try Self.decode(path)
                if let problem = ChargeChannelDefinition.problem(channels) { throw ValidationError(problem) }
                proposal = .chargeChannels(channels)
            case (nil, let name?, nil, nil, let path?):
                guard let asset = Asset(name: name), asset != .thanks else { throw ValidationError("--asset must be coin or point with --category-fees") }
                let fees: [CategoryFee] = try Self.decode(path)
                let sorted = fees.sorted { $0.merchantCategory < $1.merchantCategory }
                if let problem = CategoryFee.problem(sorted) { throw ValidationError(problem) }
                proposal = .categoryFees(asset: asset, fees: sorted)
            default:
                throw ValidationError("give one of --validators, --asset with --policy, --charge-channels, or --asset with --category-fees")
            }
            let file = GovernanceProposalFile(chainId: chainId, change: GovernanceChange(effectiveHeight: effectiveHeight, proposal: proposal))
            try file.write(path: out)
            print("wrote \(out)")
            print(try GovernanceCommand.describe(file))
        }

        static func decode<T: Decodable>(_ path: String) throws -> T {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            do {
                return try JSONDecoder().decode(T.self, from: data)
            } catch {
                throw ValidationError("\(path): \(error)")
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a proposal: sign its hash with your validator key (offline).",
            discussion: "Prints what the proposal changes first; the signature approves exactly that hash on that chain."
        )

        @Argument(help: "The proposal file.") var file: String
        @OptionGroup var approver: ApproverKey
        @Option(help: "Write the signed copy here instead of in place.") var out: String?

        func run() throws {
            var proposal = try GovernanceCommand.read(file)
            let privateKey = try approver.load()
            try refusingAsUsage { try proposal.sign(with: privateKey) }
            try proposal.write(path: out ?? file)
            print("approved by \(privateKey.publicKey.address)")
            print(try GovernanceCommand.describe(proposal))
        }
    }

    struct Combine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge the approvals of several signed copies of one proposal.",
            discussion: "Refuses copies of different proposals, and any approval that does not verify."
        )

        @Argument(help: "The signed copies.") var files: [String]
        @Option(help: "Where to write the combined proposal.") var out: String

        func run() throws {
            guard let first = files.first else { throw ValidationError("name at least one proposal file") }
            var combined = try GovernanceCommand.read(first)
            try refusingAsUsage {
                for path in files.dropFirst() { try combined.merge(try GovernanceCommand.read(path)) }
                _ = try combined.govern()
            }
            try combined.write(path: out)
            print("wrote \(out)")
            print(try GovernanceCommand.describe(combined))
        }
    }

    struct Submit: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit a signed proposal, signed as a transaction by an authority's key.",
            discussion: "The chain refuses it with a `ledger.governance_*` code when the approvals or the height do not qualify (docs/ledger-rules.md)."
        )

        @Argument(help: "The combined proposal file.") var file: String
        @OptionGroup var submission: WalletCommand.Submission

        func body() throws -> TransactionBody {
            let proposal = try GovernanceCommand.read(file)
            return .govern(try refusingAsUsage { try proposal.govern() })
        }
    }
}
