import ArgumentParser
import Foundation
import KizunaCore
import KizunaNode

/// `kizuna genesis assemble | sign | combine`: the genesis half of the key ceremony
/// (docs/operations.md, "Key ceremony").
extension GenesisCommand {
    /// The genesis at `path` as a node reads it; one that does not load is a usage error
    /// naming the file (`kizuna restore`, `kizuna snapshot verify`).
    static func load(_ path: String) throws -> Genesis {
        do {
            return try Genesis.load(path: path)
        } catch {
            throw ValidationError("reading the genesis \(path): \(error)")
        }
    }

    static func readFile(_ path: String) throws -> GenesisFile {
        try refusingAsUsage { try GenesisFile.read(path: path) }
    }

    static func write(_ file: GenesisFile, to path: String) throws {
        try file.jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func describe(_ status: GenesisApprovalStatus) -> String {
        let approved = status.approved.map { "'\($0)'" }.joined(separator: ", ")
        let missing = status.missing.map { "'\($0)'" }.joined(separator: ", ")
        var text = "approved by \(status.approved.count) of \(status.organisations.count) founding organisations"
        if !approved.isEmpty { text += " (\(approved))" }
        if !missing.isEmpty { text += "; missing \(missing)" }
        if status.isDevelopmentGenesis && !status.missing.isEmpty { text += "; a DEVELOPMENT genesis needs none" }
        return text
    }

    struct Assemble: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assemble a genesis from the organisations' public key files (organisation.json from `kizuna keys`).",
            discussion: """
            Every authority role (coinIssuer, registrar, city, auditor) must be held by exactly \
            one organisation. The asset policies are design §2.1's defaults unless --policies names \
            a JSON file {"coin": …, "point": …, "thanks": …}. The result carries no approvals: each \
            organisation checks it and signs it with `kizuna genesis sign`.
            """
        )

        @Option(help: "Chain id: a–z, 0–9 and '-'.") var chainId: String
        @Option(help: "Genesis time, RFC 3339 with an offset, e.g. 2027-04-01T00:00:00+09:00.") var genesisTime: String
        @Option(help: "An organisation's organisation.json. Repeat for each founding organisation, in the order the genesis lists them.") var organisation: [String]
        @Option(help: "JSON file with the asset policies (coin, point, thanks); default: design §2.1.") var policies: String?
        @Option(help: "Where to write the genesis JSON.") var out: String

        func run() throws {
            let organisations = try organisation.map(OrganisationKeys.load(path:))
            guard Set(organisations.map(\.organisation)).count == organisations.count else {
                throw ValidationError("two organisation files name the same organisation")
            }
            var validators: [GenesisDocument.ValidatorEntry] = []
            var holders: [String: (organisation: String, address: String)] = [:]
            for entry in organisations {
                for validator in entry.validators {
                    validators.append(.init(name: validator.name, organisation: entry.organisation, publicKey: validator.publicKey, votingPower: validator.votingPower))
                }
                for (role, address) in entry.authorities.sorted(by: { $0.key < $1.key }) {
                    if let holder = holders[role] {
                        throw ValidationError("authority \(role) is claimed by both '\(holder.organisation)' and '\(entry.organisation)'")
                    }
                    holders[role] = (entry.organisation, address)
                }
            }
            let roles = ["coinIssuer", "registrar", "city", "auditor"]
            let missing = roles.filter { holders[$0] == nil }
            guard missing.isEmpty else {
                throw ValidationError("no organisation holds the authority role(s) \(missing.joined(separator: ", ")); generate them with `kizuna keys --authority …`")
            }
            var assets = GenesisDocument.AssetPolicies(coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy)
            if let policies {
                guard let data = FileManager.default.contents(atPath: policies) else { throw ValidationError("cannot read \(policies)") }
                do {
                    assets = try JSONDecoder().decode(GenesisDocument.AssetPolicies.self, from: data)
                } catch {
                    throw ValidationError("\(policies) is not {\"coin\": …, \"point\": …, \"thanks\": …}: \(error)")
                }
            }
            let document = GenesisDocument(
                chainId: chainId, genesisTime: genesisTime, validators: validators,
                authorities: .init(coinIssuer: holders["coinIssuer"]!.address, registrar: holders["registrar"]!.address, city: holders["city"]!.address, auditor: holders["auditor"]!.address),
                assets: assets)
            let genesis = try refusingAsUsage { try Genesis(document: document) }
            try GenesisCommand.write(GenesisFile(genesis: genesis, approvals: []), to: out)
            print("wrote \(out): chain \(genesis.chainId), genesis hash \(genesis.hash)")
            print("each of \(genesis.foundingOrganisations.map { "'\($0)'" }.joined(separator: ", ")) now checks it (`kizuna genesis inspect`) and signs it (`kizuna genesis sign`)")
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a genesis: sign its hash with one of your organisation's validator keys.",
            discussion: """
            Adds (or replaces) this key's approval in the file's approvals section, which lies \
            outside the hashed bytes; the genesis hash does not change. Check the genesis first \
            with `kizuna genesis inspect`: the signature approves exactly the hash it prints.
            """
        )

        @Argument(help: "The genesis JSON file.") var file: String
        @OptionGroup var approver: ApproverKey
        @Option(help: "Write the signed genesis here instead of in place.") var out: String?

        func run() throws {
            var genesisFile = try GenesisCommand.readFile(file)
            let privateKey = try approver.load()
            let approval = try refusingAsUsage { try genesisFile.genesis.approve(with: privateKey) }
            genesisFile.approvals.removeAll { $0.publicKey == approval.publicKey }
            genesisFile.approvals.append(approval)
            let status = try refusingAsUsage { try genesisFile.genesis.checkApprovals(genesisFile.approvals) }
            try GenesisCommand.write(genesisFile, to: out ?? file)
            print("'\(approval.organisation)' approved genesis \(genesisFile.genesis.hash) with \(approval.publicKey)")
            print(GenesisCommand.describe(status))
        }
    }

    struct Combine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge the approvals of several signed copies of one genesis into one file.",
            discussion: "Refuses copies whose genesis hashes differ, and any approval that does not verify."
        )

        @Argument(help: "The signed copies.") var files: [String]
        @Option(help: "Where to write the combined genesis.") var out: String

        func run() throws {
            guard let first = files.first else { throw ValidationError("name at least one genesis file") }
            var combined = try GenesisCommand.readFile(first)
            combined.approvals = []
            for path in files {
                let copy = try GenesisCommand.readFile(path)
                guard copy.genesis.hash == combined.genesis.hash else {
                    throw ValidationError("\(path) has genesis hash \(copy.genesis.hash), \(first) has \(combined.genesis.hash): these are different genesis documents")
                }
                for approval in copy.approvals where !combined.approvals.contains(where: { $0.publicKey == approval.publicKey }) {
                    combined.approvals.append(approval)
                }
            }
            let status = try refusingAsUsage { try combined.genesis.checkApprovals(combined.approvals) }
            try GenesisCommand.write(combined, to: out)
            print("wrote \(out): genesis \(combined.genesis.hash), \(GenesisCommand.describe(status))")
        }
    }
}
