import ArgumentParser
import Foundation
import KizunaCore
import KizunaNode

struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Create, assemble, sign, inspect and validate genesis documents.",
        subcommands: [Create.self, Assemble.self, Sign.self, Combine.self, Inspect.self, Validate.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a genesis document with the default asset policies of design §2.1.",
            discussion: "Example: kizuna genesis create --chain-id city-kizuna-1 --genesis-time 2027-04-01T00:00:00+09:00 --validator 'city,Example City,kz1…,1' --coin-issuer kz1… --registrar kz1… --city kz1… --auditor kz1… --out genesis.json"
        )

        @Option(help: "Chain id: a–z, 0–9 and '-'. Ids starting with 'local-' mark development chains.")
        var chainId: String
        @Option(help: "Genesis time, RFC 3339 with an offset, e.g. 2027-04-01T00:00:00+09:00.")
        var genesisTime: String
        @Option(help: "A validator as 'name,organisation,address,votingPower'. Repeat for each.")
        var validator: [String]
        @Option(help: "Address of the coin issuer.") var coinIssuer: String
        @Option(help: "Address of the registrar.") var registrar: String
        @Option(help: "Address of the city (point issuer).") var city: String
        @Option(help: "Address of the auditor.") var auditor: String
        @Option(help: "Where to write the genesis JSON.") var out: String

        func run() throws {
            let validators = try validator.map { entry -> GenesisDocument.ValidatorEntry in
                let parts = entry.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 4, let power = UInt64(parts[3]) else {
                    throw ValidationError("--validator '\(entry)' must be 'name,organisation,address,votingPower'")
                }
                return .init(name: parts[0], organisation: parts[1], publicKey: parts[2], votingPower: power)
            }
            let document = GenesisDocument(
                chainId: chainId, genesisTime: genesisTime, validators: validators,
                authorities: .init(coinIssuer: coinIssuer, registrar: registrar, city: city, auditor: auditor),
                assets: .init(coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy)
            )
            let genesis = try refusingAsUsage { try Genesis(document: document) }
            try genesis.jsonData().write(to: URL(fileURLWithPath: out))
            print("wrote \(out): chain \(genesis.chainId), genesis hash \(genesis.hash)")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a genesis document's hash, validators, authorities and policies.")

        @Argument(help: "The genesis JSON file.") var file: String

        func run() throws {
            let genesisFile = try GenesisCommand.readFile(file)
            let genesis = genesisFile.genesis
            print("chain id        \(genesis.chainId)\(genesis.isLocalChain ? "   (LOCAL development chain)" : "")")
            print("genesis hash    \(genesis.hash)")
            print("genesis time    \(CivilTime.formatJapan(milliseconds: genesis.genesisTime))")
            print("validator set   \(genesis.validators.hash) (total power \(genesis.validators.totalVotingPower))")
            for validator in genesis.validators.validators {
                print("  \(validator.name) (\(validator.organisation)) power \(validator.votingPower) \(validator.publicKey.address)")
            }
            for authority in genesis.authorities.all {
                print("\(authority.role.padding(toLength: 16, withPad: " ", startingAt: 0))\(authority.key.address)")
            }
            for asset in Asset.allCases {
                let policy = genesis.policy(for: asset)
                print("\(asset.name): cap ¥\(policy.holderCapYen), send ¥\(policy.sendLimitPerTransactionYen)/tx ¥\(policy.sendLimitPerMonthYen)/month, bonus app \(policy.chargeBonusAppBasisPoints)bp machine \(policy.chargeBonusMachineBasisPoints)bp, redemption fee \(policy.redemptionFeeBasisPoints)bp, expiry \(policy.expiry.kind.rawValue) \(policy.expiry.months) months")
            }
            for approval in genesis.sortedApprovals(genesisFile.approvals) {
                print("approval        \(approval.organisation): \(approval.publicKey)")
            }
            try failingWithVerdict("INVALID approvals: ") {
                print(GenesisCommand.describe(try genesis.checkApprovals(genesisFile.approvals)))
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a genesis document and its approvals as a node does; exit 0 if a node would run it, else print the error and exit 1.")

        @Argument(help: "The genesis JSON file.") var file: String

        func run() throws {
            try failingWithVerdict("invalid: ") {
                let genesis = try Genesis.load(path: file)
                print("valid: chain \(genesis.chainId), genesis hash \(genesis.hash)")
            }
        }
    }
}
