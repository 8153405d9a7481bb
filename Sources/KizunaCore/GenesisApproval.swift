/// One founding organisation's approval of a genesis: a signature, by one of that
/// organisation's validator keys, over the genesis hash.
///
/// Approvals travel in the genesis JSON's `approvals` section, outside the canonical bytes
/// that the genesis hash covers: adding them changes neither the hash (the chain's identity)
/// nor any state root, and changing anything the hash covers invalidates every approval.
///
/// Signed bytes: `"KIZUNA/GENESIS-APPROVAL/V1" 00 ‖ genesis hash (32)`.
public struct GenesisApproval: Codable, Sendable, Hashable {
    /// The organisation, exactly as its validators name it in the genesis.
    public var organisation: String
    /// The address (kz1…) of the validator key that signed.
    public var publicKey: String
    /// The Ed25519 signature, 128 hex digits.
    public var signature: String

    public init(organisation: String, publicKey: String, signature: String) {
        self.organisation = organisation
        self.publicKey = publicKey
        self.signature = signature
    }
}

/// What the approvals of a genesis amount to (`Genesis.checkApprovals`).
public struct GenesisApprovalStatus: Sendable, Hashable {
    /// The founding organisations (those that run a validator), in genesis order.
    public var organisations: [String]
    /// The organisations with at least one valid approval, in genesis order.
    public var approved: [String]
    /// True when every validator key is a published development key: signatures by keys
    /// anyone can compute prove nothing, so such a genesis (always a `local-` chain) is
    /// accepted without approvals. Approvals it does carry are still checked.
    public var isDevelopmentGenesis: Bool

    /// Founding organisations without an approval.
    public var missing: [String] { organisations.filter { !approved.contains($0) } }

    /// Whether a node may run this genesis.
    public var isComplete: Bool { missing.isEmpty || isDevelopmentGenesis }
}

extension Genesis {
    /// The bytes a founding organisation signs to approve the genesis with hash `hash`.
    public static func approvalSigningBytes(genesisHash hash: Hash) -> [UInt8] {
        HashDomain.genesisApproval.prefix + hash.bytes
    }

    /// The founding organisations: each distinct `organisation` of the validators, in the
    /// order they first appear.
    public var foundingOrganisations: [String] {
        var names: [String] = []
        for validator in validators.validators where !names.contains(validator.organisation) {
            names.append(validator.organisation)
        }
        return names
    }

    /// Approves this genesis with a validator's key.
    /// - Throws: `genesis.bad_approval` if the key is not one of the genesis's validators.
    public func approve(with key: PrivateKey) throws(GenesisError) -> GenesisApproval {
        guard let validator = validators.validator(for: key.publicKey) else {
            throw GenesisError(.badApproval, "key \(key.publicKey.address) is not a validator of this genesis; an organisation approves with one of its validator keys")
        }
        let signature = key.sign(Genesis.approvalSigningBytes(genesisHash: hash))
        return GenesisApproval(organisation: validator.organisation, publicKey: key.publicKey.address.description, signature: signature.bytes.hexString)
    }

    /// Checks every approval against this genesis and says which organisations approved.
    ///
    /// - Throws: `genesis.bad_approval` for any approval that does not verify (the genesis
    ///   changed after it was signed, or the signer is not a validator of the organisation it
    ///   names), or that repeats a key.
    public func checkApprovals(_ approvals: [GenesisApproval]) throws(GenesisError) -> GenesisApprovalStatus {
        let message = Genesis.approvalSigningBytes(genesisHash: hash)
        var approved: Set<String> = []
        var seenKeys: Set<PublicKey> = []
        for approval in approvals {
            let what = "the approval of '\(approval.organisation)' by \(approval.publicKey)"
            guard let address = try? Address(parsing: approval.publicKey) else {
                throw GenesisError(.badApproval, "\(what): publicKey is not a kz1… address")
            }
            guard let bytes = [UInt8](hex: approval.signature), let signature = Signature(bytes) else {
                throw GenesisError(.badApproval, "\(what): signature must be 128 hex digits")
            }
            guard seenKeys.insert(address.publicKey).inserted else {
                throw GenesisError(.badApproval, "\(what) appears twice")
            }
            guard let validator = validators.validator(for: address.publicKey), validator.organisation == approval.organisation else {
                throw GenesisError(.badApproval, "\(what): that key is not a validator of '\(approval.organisation)' in this genesis")
            }
            guard address.publicKey.isValidSignature(signature, for: message) else {
                throw GenesisError(.badApproval, "\(what) does not verify for genesis hash \(hash): the genesis was changed after it was signed; compare `kizuna genesis inspect` with the copy the organisation signed")
            }
            approved.insert(approval.organisation)
        }
        let organisations = foundingOrganisations
        let developmentKeys = DevelopmentKeys.allPublicKeys
        return GenesisApprovalStatus(
            organisations: organisations,
            approved: organisations.filter { approved.contains($0) },
            isDevelopmentGenesis: validators.validators.allSatisfy { developmentKeys.contains($0.publicKey) }
        )
    }

    /// Checks the approvals and requires one from every founding organisation (unless the
    /// genesis is a development one, see `GenesisApprovalStatus.isDevelopmentGenesis`).
    /// - Throws: `genesis.bad_approval` or `genesis.missing_approval`.
    @discardableResult
    public func requireApprovals(_ approvals: [GenesisApproval]) throws(GenesisError) -> GenesisApprovalStatus {
        let status = try checkApprovals(approvals)
        guard status.isComplete else {
            throw GenesisError(.missingApproval, "genesis \(hash) lacks the approval of \(status.missing.map { "'\($0)'" }.joined(separator: ", ")); each founding organisation signs it with `kizuna genesis sign` and the copies are merged with `kizuna genesis combine`")
        }
        return status
    }

    /// Approvals in a stable order: by founding organisation, then by key.
    public func sortedApprovals(_ approvals: [GenesisApproval]) -> [GenesisApproval] {
        let order = foundingOrganisations
        return approvals.sorted {
            let left = order.firstIndex(of: $0.organisation) ?? order.count
            let right = order.firstIndex(of: $1.organisation) ?? order.count
            return left != right ? left < right : $0.publicKey < $1.publicKey
        }
    }
}
