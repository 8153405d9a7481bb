public import KizunaCore
public import Foundation

/// A governance proposal as the consortium passes it around (ADR 0018, docs/operations.md
/// "Governance"): written once (`kizuna governance propose`), signed offline by each
/// organisation's validator key (`sign`), merged (`combine`) and submitted by an authority
/// (`submit`). The JSON carries the proposal hash so that each signer sees what it approves.
public struct GovernanceProposalFile: Codable, Sendable {
    public struct Approval: Codable, Sendable, Hashable {
        /// The validator key's address (kz1…).
        public var publicKey: String
        /// The Ed25519 signature over the proposal hash, 128 hex digits.
        public var signature: String
    }

    public var chainId: String
    public var effectiveHeight: UInt64
    /// A validator-set change: the whole new set.
    public var validators: [GenesisDocument.ValidatorEntry]?
    /// A policy amendment: the asset's name and its whole new policy.
    public var asset: String?
    public var policy: AssetPolicy?
    /// Charge channels by amendment (kind 3): the whole new list.
    public var chargeChannels: [ChargeChannelDefinition]?
    /// Category fees by amendment (kind 4), with `asset`: the asset's whole new list.
    public var categoryFees: [CategoryFee]?
    /// Hex of `GovernanceChange.proposalHash(chainId:)`; checked on every read.
    public var proposalHash: String
    public var approvals: [Approval]

    public typealias FileError = CodedError<GovernanceFileErrorCode>

    public init(chainId: String, change: GovernanceChange) {
        self.chainId = chainId
        self.effectiveHeight = change.effectiveHeight
        switch change.proposal {
        case .validatorSet(let validators):
            self.validators = validators.map { .init(name: $0.name, organisation: $0.organisation, publicKey: $0.publicKey.address.description, votingPower: $0.votingPower) }
        case .assetPolicy(let asset, let policy):
            self.asset = asset.name
            self.policy = policy
        case .chargeChannels(let channels):
            self.chargeChannels = channels
        case .categoryFees(let asset, let fees):
            self.asset = asset.name
            self.categoryFees = fees
        }
        self.proposalHash = change.proposalHash(chainId: chainId).hex
        self.approvals = []
    }

    /// The change the file describes; its hash must be the one the file states.
    public func change() throws(FileError) -> GovernanceChange {
        let proposal: GovernanceProposal
        switch (validators, asset, policy, chargeChannels, categoryFees) {
        case (let validators?, nil, nil, nil, nil):
            var parsed: [Validator] = []
            for entry in validators {
                guard let address = try? Address(parsing: entry.publicKey) else {
                    throw FileError(.invalidFile, "validator '\(entry.name)': '\(entry.publicKey)' is not a kz1… address")
                }
                parsed.append(Validator(name: entry.name, organisation: entry.organisation, publicKey: address.publicKey, votingPower: entry.votingPower))
            }
            proposal = .validatorSet(parsed)
        case (nil, let name?, let policy?, nil, nil):
            guard let asset = Asset(name: name) else { throw FileError(.invalidFile, "asset '\(name)' is not coin, point or thanks") }
            proposal = .assetPolicy(asset: asset, policy: policy)
        case (nil, nil, nil, let channels?, nil):
            proposal = .chargeChannels(channels)
        case (nil, let name?, nil, nil, let fees?):
            guard let asset = Asset(name: name) else { throw FileError(.invalidFile, "asset '\(name)' is not coin, point or thanks") }
            proposal = .categoryFees(asset: asset, fees: fees.sorted { $0.merchantCategory < $1.merchantCategory })
        default:
            throw FileError(.invalidFile, "a proposal names either `validators`, `asset` with `policy`, `chargeChannels`, or `asset` with `categoryFees`")
        }
        let change = GovernanceChange(effectiveHeight: effectiveHeight, proposal: proposal)
        guard change.proposalHash(chainId: chainId).hex == proposalHash else {
            throw FileError(.hashMismatch, "the proposal hashes to \(change.proposalHash(chainId: chainId).hex), the file says \(proposalHash): it was changed after it was written; ask for a fresh copy")
        }
        return change
    }

    /// Adds (or replaces) the approval of `key` (a validator key, kept offline).
    public mutating func sign(with key: PrivateKey) throws(FileError) {
        let approval = try change().approve(chainId: chainId, with: key)
        approvals.removeAll { $0.publicKey == key.publicKey.address.description }
        approvals.append(Approval(publicKey: key.publicKey.address.description, signature: approval.signature.bytes.hexString))
        approvals.sort { $0.publicKey < $1.publicKey }
    }

    /// Takes the approvals of another copy of the same proposal.
    public mutating func merge(_ other: GovernanceProposalFile) throws(FileError) {
        guard other.proposalHash == proposalHash, other.chainId == chainId else {
            throw FileError(.hashMismatch, "the copies are of different proposals (\(proposalHash) and \(other.proposalHash))")
        }
        for approval in other.approvals where !approvals.contains(approval) {
            approvals.removeAll { $0.publicKey == approval.publicKey }
            approvals.append(approval)
        }
        approvals.sort { $0.publicKey < $1.publicKey }
    }

    /// The transaction body: the change and every approval, each checked to verify.
    public func govern() throws(FileError) -> Govern {
        let change = try change()
        let message = change.proposalHash(chainId: chainId).bytes
        var signatures: [Cosignature] = []
        for approval in approvals {
            guard let address = try? Address(parsing: approval.publicKey), let bytes = [UInt8](hex: approval.signature), let signature = Signature(bytes),
                  address.publicKey.isValidSignature(signature, for: message) else {
                throw FileError(.badApproval, "the approval by \(approval.publicKey) does not verify for proposal \(proposalHash)")
            }
            signatures.append(Cosignature(signer: address.publicKey, signature: signature))
        }
        return Govern(change: change, approvals: signatures)
    }

    public static func read(path: String) throws(FileError) -> GovernanceProposalFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(.invalidFile, "cannot read \(path)") }
        do {
            return try JSONDecoder().decode(GovernanceProposalFile.self, from: data)
        } catch {
            throw FileError(.invalidFile, "\(path) is not a governance proposal: \(error)")
        }
    }

    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// The codes of `GovernanceProposalFile.FileError`.
public enum GovernanceFileErrorCode: String, ErrorCode {
    case invalidFile = "governance.invalid_file"
    case hashMismatch = "governance.hash_mismatch"
    case badApproval = "governance.bad_approval"
}
