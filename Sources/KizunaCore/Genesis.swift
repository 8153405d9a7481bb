public import Foundation

/// How an asset's value expires (design §2.1).
public struct ExpiryRule: Sendable, Hashable, Codable, CanonicalCodable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Never expires.
        case never
        /// At the end of the month `months` months after the holder's last balance change
        /// (Ain Pay's coin rule: one year → 12).
        case endOfMonthAfterLastChange
        /// At the end of the month `months` months after the lot was granted.
        case endOfMonthAfterGrant
        /// A fixed use-by date for every lot (a premium voucher sale, "有効期限"): `months`
        /// holds the last Japan-time day of use as yyyymmdd; lots expire at 00:00 the next
        /// day. Programs only, never an asset's policy.
        case useByDate
    }

    public var kind: Kind
    public var months: UInt32

    public init(kind: Kind, months: UInt32) {
        self.kind = kind
        self.months = months
    }

    /// Lots usable through `year-month-day` (Japan time), expiring at 00:00 the next day.
    public static func useBy(year: Int, month: Int, day: Int) -> ExpiryRule {
        ExpiryRule(kind: .useByDate, months: UInt32(clamping: year * 10_000 + month * 100 + day))
    }

    /// For `useByDate`: the last day of use, if `months` is a real calendar date.
    public var useByDay: (year: Int64, month: Int64, day: Int64)? {
        guard kind == .useByDate else { return nil }
        let (year, month, day) = (Int64(months / 10_000), Int64(months / 100 % 100), Int64(months % 100))
        guard (2000...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let date = CivilTime.civilFromDays(CivilTime.daysFromCivil(year: year, month: month, day: day))
        guard date.year == year, date.month == month, date.day == day else { return nil }
        return (year, month, day)
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(UInt8(Kind.allCases.firstIndex(of: kind)!))
        encoder.encode(months)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        let raw = Int(try decoder.decodeUInt8())
        guard raw < Kind.allCases.count else { throw DecodingError(.invalidTag, "unknown expiry rule \(raw)", offset: start) }
        kind = Kind.allCases[raw]
        months = try decoder.decodeUInt32()
    }
}

/// The policy of one asset (design §2.1). Rates are in basis points (1/100 of a percent):
/// integers, because they feed state transitions.
public struct AssetPolicy: Sendable, Hashable, Codable, CanonicalCodable {
    public var holderCapYen: UInt64
    public var sendLimitPerTransactionYen: UInt64
    public var sendLimitPerMonthYen: UInt64
    /// Bonus points minted on a charge, per channel (coin only; 100 = 1%).
    public var chargeBonusAppBasisPoints: UInt32
    public var chargeBonusMachineBasisPoints: UInt32
    /// Fee withheld when a merchant redeems (150 = 1.5%).
    public var redemptionFeeBasisPoints: UInt32
    public var expiry: ExpiryRule

    public init(holderCapYen: UInt64, sendLimitPerTransactionYen: UInt64, sendLimitPerMonthYen: UInt64, chargeBonusAppBasisPoints: UInt32, chargeBonusMachineBasisPoints: UInt32, redemptionFeeBasisPoints: UInt32, expiry: ExpiryRule) {
        self.holderCapYen = holderCapYen
        self.sendLimitPerTransactionYen = sendLimitPerTransactionYen
        self.sendLimitPerMonthYen = sendLimitPerMonthYen
        self.chargeBonusAppBasisPoints = chargeBonusAppBasisPoints
        self.chargeBonusMachineBasisPoints = chargeBonusMachineBasisPoints
        self.redemptionFeeBasisPoints = redemptionFeeBasisPoints
        self.expiry = expiry
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(holderCapYen, sendLimitPerTransactionYen, sendLimitPerMonthYen, chargeBonusAppBasisPoints, chargeBonusMachineBasisPoints, redemptionFeeBasisPoints, expiry) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        holderCapYen = try decoder.decodeUInt64()
        sendLimitPerTransactionYen = try decoder.decodeUInt64()
        sendLimitPerMonthYen = try decoder.decodeUInt64()
        chargeBonusAppBasisPoints = try decoder.decodeUInt32()
        chargeBonusMachineBasisPoints = try decoder.decodeUInt32()
        redemptionFeeBasisPoints = try decoder.decodeUInt32()
        expiry = try decoder.decode(ExpiryRule.self)
    }

    /// What is wrong with the policy's rates and limits (nil: nothing): the rule genesis and
    /// governance amendments share.
    public func limitsProblem(assetName name: String) -> String? {
        guard redemptionFeeBasisPoints <= 10_000, chargeBonusAppBasisPoints <= 10_000, chargeBonusMachineBasisPoints <= 10_000 else {
            return "asset \(name): rates are basis points and may not exceed 10000 (100%)"
        }
        guard sendLimitPerTransactionYen <= sendLimitPerMonthYen else {
            return "asset \(name): the per-transaction send limit exceeds the monthly one"
        }
        return nil
    }

    /// The bonus rate of a charge channel.
    public func chargeBonusBasisPoints(for channel: ChargeChannel) -> UInt32 {
        switch channel {
        case .app: chargeBonusAppBasisPoints
        case .chargeMachine: chargeBonusMachineBasisPoints
        }
    }
}

/// The authority accounts named in genesis (design §2.2). Separate from validator keys.
public struct Authorities: Sendable, Hashable, CanonicalCodable {
    public var coinIssuer: PublicKey
    public var registrar: PublicKey
    public var city: PublicKey
    public var auditor: PublicKey

    public init(coinIssuer: PublicKey, registrar: PublicKey, city: PublicKey, auditor: PublicKey) {
        self.coinIssuer = coinIssuer
        self.registrar = registrar
        self.city = city
        self.auditor = auditor
    }

    public var all: [(role: String, key: PublicKey)] {
        [("coinIssuer", coinIssuer), ("registrar", registrar), ("city", city), ("auditor", auditor)]
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(coinIssuer, registrar, city, auditor) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        coinIssuer = try decoder.decode(PublicKey.self)
        registrar = try decoder.decode(PublicKey.self)
        city = try decoder.decode(PublicKey.self)
        auditor = try decoder.decode(PublicKey.self)
    }
}

/// The genesis document: the chain's identity, validators, authorities and asset policies.
/// Its hash (of the canonical encoding, not of the JSON text) pins a store to its chain.
public struct Genesis: Sendable, Hashable {
    public var chainId: String
    /// Milliseconds since 1970-01-01 UTC. Block 1's timestamp must be later.
    public var genesisTime: UInt64
    public var validators: ValidatorSet
    public var authorities: Authorities
    public var coin: AssetPolicy
    public var point: AssetPolicy
    public var thanks: AssetPolicy
    /// The card accounts' caps (`CardPolicy`); nil: this chain registers no card.
    public var cardPolicy: CardPolicy?
    /// The caps of visitor accounts; nil: no visitors on this chain (VisitorPolicy.swift).
    public var visitorPolicy: VisitorPolicy? = nil
    /// Registration rules (TownPolicy.swift); nil: the resident-ID hash stays optional.
    public var registrationPolicy: RegistrationPolicy? = nil
    /// The charge channels (TownPolicy.swift); nil: the app and the charge machine.
    public var chargeChannels: [ChargeChannelDefinition]? = nil
    /// Redemption fees per merchant category, by asset (PolicyKinds.swift). Not a genesis
    /// section and never encoded: only a governance `categoryFees` amendment in force sets it,
    /// in the rules of `Ledger.inForce(at:state:)` (ADR 0021).
    public var categoryFees: [Asset: [CategoryFee]] = [:]

    public init(chainId: String, genesisTime: UInt64, validators: [Validator], authorities: Authorities, coin: AssetPolicy, point: AssetPolicy, thanks: AssetPolicy, cardPolicy: CardPolicy? = nil) {
        self.chainId = chainId
        self.genesisTime = genesisTime
        self.validators = ValidatorSet(validators)
        self.authorities = authorities
        self.coin = coin
        self.point = point
        self.thanks = thanks
        self.cardPolicy = cardPolicy
    }

    public func policy(for asset: Asset) -> AssetPolicy {
        switch asset {
        case .coin: coin
        case .point: point
        case .thanks: thanks
        }
    }

    /// A chain id that starts with this marks a development chain: the only kind on which
    /// a node accepts the published development keys.
    public static let localChainIdPrefix = "local-"

    public var isLocalChain: Bool { chainId.hasPrefix(Genesis.localChainIdPrefix) }

    public var canonicalBytes: [UInt8] {
        var encoder = Encoder()
        encoder.encode(chainId, genesisTime, validators.validators, authorities, coin, point, thanks)
        // Optional parts follow, each as its tag and its encoding, only when present: a genesis
        // without them hashes as before they existed.
        if let cardPolicy {
            encoder.encode(CardPolicy.genesisTag)
            encoder.encode(cardPolicy)
        }
        if let visitorPolicy { encoder.encode(UInt8(0x02), visitorPolicy) }
        encodeTownSections(&encoder)
        return encoder.bytes
    }

    public var hash: Hash { Hash.tagged(.genesis, canonicalBytes) }

    /// The default policies of design §2.1.
    public static let defaultCoinPolicy = AssetPolicy(holderCapYen: 100_000, sendLimitPerTransactionYen: 100_000, sendLimitPerMonthYen: 300_000, chargeBonusAppBasisPoints: 100, chargeBonusMachineBasisPoints: 150, redemptionFeeBasisPoints: 150, expiry: ExpiryRule(kind: .endOfMonthAfterLastChange, months: 12))
    public static let defaultPointPolicy = AssetPolicy(holderCapYen: 100_000, sendLimitPerTransactionYen: 0, sendLimitPerMonthYen: 0, chargeBonusAppBasisPoints: 0, chargeBonusMachineBasisPoints: 0, redemptionFeeBasisPoints: 150, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6))
    public static let defaultThanksPolicy = AssetPolicy(holderCapYen: 10_000, sendLimitPerTransactionYen: 1_000, sendLimitPerMonthYen: 10_000, chargeBonusAppBasisPoints: 0, chargeBonusMachineBasisPoints: 0, redemptionFeeBasisPoints: 0, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 3))
}

/// Why a genesis document was refused. Compares on the code only.
public typealias GenesisError = CodedError<GenesisErrorCode>

/// The codes of `GenesisError`.
public enum GenesisErrorCode: String, ErrorCode {
    case unreadable = "genesis.unreadable"
    case invalidJSON = "genesis.invalid_json"
    case invalidChainId = "genesis.invalid_chain_id"
    case invalidTime = "genesis.invalid_time"
    case invalidKey = "genesis.invalid_key"
    case invalidValidators = "genesis.invalid_validators"
    case invalidAuthorities = "genesis.invalid_authorities"
    case invalidPolicy = "genesis.invalid_policy"
    case developmentKeyOutsideLocalChain = "genesis.development_key_outside_local_chain"
    /// An approval that does not verify: the genesis changed after it was signed, or the
    /// signer is not a validator of the organisation it names.
    case badApproval = "genesis.bad_approval"
    /// A founding organisation has not approved the genesis.
    case missingApproval = "genesis.missing_approval"
}

// MARK: - JSON form

/// The JSON document of a genesis, as written in `Genesis/*.json`.
public struct GenesisDocument: Codable, Sendable {
    public struct ValidatorEntry: Codable, Sendable {
        public var name: String
        public var organisation: String
        public var publicKey: String
        public var votingPower: UInt64

        public init(name: String, organisation: String, publicKey: String, votingPower: UInt64) {
            self.name = name
            self.organisation = organisation
            self.publicKey = publicKey
            self.votingPower = votingPower
        }
    }

    public struct AuthorityEntries: Codable, Sendable {
        public var coinIssuer: String
        public var registrar: String
        public var city: String
        public var auditor: String

        public init(coinIssuer: String, registrar: String, city: String, auditor: String) {
            self.coinIssuer = coinIssuer
            self.registrar = registrar
            self.city = city
            self.auditor = auditor
        }
    }

    public struct AssetPolicies: Codable, Sendable {
        public var coin: AssetPolicy
        public var point: AssetPolicy
        public var thanks: AssetPolicy

        public init(coin: AssetPolicy, point: AssetPolicy, thanks: AssetPolicy) {
            self.coin = coin
            self.point = point
            self.thanks = thanks
        }
    }

    public var chainId: String
    public var genesisTime: String
    public var validators: [ValidatorEntry]
    public var authorities: AuthorityEntries
    public var assets: AssetPolicies
    /// The founding organisations' signatures over the genesis hash (`GenesisApproval`).
    /// Outside the hashed bytes; absent (not written) when there are none.
    public var approvals: [GenesisApproval]?
    /// The card accounts' caps; absent: the chain registers no card.
    public var cardPolicy: CardPolicy?
    /// Absent: no visitors on this chain.
    public var visitorPolicy: VisitorPolicy?
    /// Absent: the resident-ID hash is optional.
    public var registrationPolicy: RegistrationPolicy?
    /// Absent: the two default channels (app, charge_machine) with the coin policy's rates.
    public var chargeChannels: [ChargeChannelDefinition]?

    public init(chainId: String, genesisTime: String, validators: [ValidatorEntry], authorities: AuthorityEntries, assets: AssetPolicies, approvals: [GenesisApproval]? = nil, cardPolicy: CardPolicy? = nil) {
        self.chainId = chainId
        self.genesisTime = genesisTime
        self.validators = validators
        self.authorities = authorities
        self.assets = assets
        self.approvals = approvals
        self.cardPolicy = cardPolicy
    }
}

extension GenesisDocument {
    /// The JSON document in `data`, not yet validated; a refusal names the file `path`, if
    /// it came from one.
    public static func decode(json data: Data, path: String? = nil) throws(GenesisError) -> GenesisDocument {
        do {
            return try JSONDecoder().decode(GenesisDocument.self, from: data)
        } catch {
            let document = path.map { "the genesis document \($0)" } ?? "the genesis document"
            throw GenesisError(.invalidJSON, "\(document) is not valid: \(error)")
        }
    }
}

extension Genesis {
    static let chainIdCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)

    /// Parses and validates a genesis JSON document.
    public init(json data: Data) throws(GenesisError) {
        try self.init(document: try GenesisDocument.decode(json: data))
    }

    public init(document: GenesisDocument) throws(GenesisError) {
        guard !document.chainId.isEmpty, document.chainId.utf8.count <= TransactionLimits.chainIdBytesMax,
              document.chainId.utf8.allSatisfy({ Genesis.chainIdCharacters.contains($0) }) else {
            throw GenesisError(.invalidChainId, "chainId '\(document.chainId)' must be 1–64 characters of a–z, 0–9 and '-'")
        }
        guard let time = CivilTime.parseRFC3339(document.genesisTime) else {
            throw GenesisError(.invalidTime, "genesisTime '\(document.genesisTime)' must be RFC 3339 with seconds and an offset, e.g. 2026-04-01T00:00:00+09:00")
        }
        func key(_ text: String, _ what: String) throws(GenesisError) -> PublicKey {
            do {
                return try Address(parsing: text).publicKey
            } catch {
                throw GenesisError(.invalidKey, "\(what): \(error)")
            }
        }
        guard !document.validators.isEmpty, document.validators.count <= BlockLimits.validatorsMax else {
            throw GenesisError(.invalidValidators, "a genesis needs 1 to \(BlockLimits.validatorsMax) validators, found \(document.validators.count)")
        }
        var validators: [Validator] = []
        var total: UInt64 = 0
        for entry in document.validators {
            guard !entry.name.isEmpty, entry.name.utf8.count <= 64, entry.organisation.utf8.count <= 128 else {
                throw GenesisError(.invalidValidators, "validator '\(entry.name)': name must be 1–64 bytes and organisation at most 128")
            }
            guard entry.votingPower > 0 else {
                throw GenesisError(.invalidValidators, "validator '\(entry.name)' has voting power 0")
            }
            guard let sum = total.adding(entry.votingPower), sum <= UInt64.max / 3 else {
                throw GenesisError(.invalidValidators, "total voting power overflows")
            }
            total = sum
            let publicKey = try key(entry.publicKey, "validator '\(entry.name)'")
            guard !validators.contains(where: { $0.publicKey == publicKey || $0.name == entry.name }) else {
                throw GenesisError(.invalidValidators, "validator '\(entry.name)' repeats a name or key")
            }
            validators.append(Validator(name: entry.name, organisation: entry.organisation, publicKey: publicKey, votingPower: entry.votingPower))
        }
        let authorities = Authorities(
            coinIssuer: try key(document.authorities.coinIssuer, "authority coinIssuer"),
            registrar: try key(document.authorities.registrar, "authority registrar"),
            city: try key(document.authorities.city, "authority city"),
            auditor: try key(document.authorities.auditor, "authority auditor")
        )
        let authorityKeys = authorities.all.map(\.key)
        guard Set(authorityKeys).count == authorityKeys.count else {
            throw GenesisError(.invalidAuthorities, "each authority needs its own key")
        }
        guard !validators.contains(where: { authorityKeys.contains($0.publicKey) }) else {
            throw GenesisError(.invalidAuthorities, "validator keys must be separate from authority keys")
        }
        for (name, policy) in [("coin", document.assets.coin), ("point", document.assets.point), ("thanks", document.assets.thanks)] {
            if let problem = policy.limitsProblem(assetName: name) { throw GenesisError(.invalidPolicy, problem) }
            guard policy.expiry.kind != .useByDate else {
                throw GenesisError(.invalidPolicy, "asset \(name): a fixed use-by date is a program's rule, not an asset's")
            }
            guard policy.expiry.kind == .never || (1...1200).contains(policy.expiry.months) else {
                throw GenesisError(.invalidPolicy, "asset \(name): expiry months must be 1–1200")
            }
        }
        if let problem = document.cardPolicy?.problem(coin: document.assets.coin) {
            throw GenesisError(.invalidPolicy, problem)
        }
        if let problem = document.visitorPolicy?.problem(coin: document.assets.coin) { throw GenesisError(.invalidPolicy, problem) }
        if let problem = document.chargeChannels.flatMap(ChargeChannelDefinition.problem) { throw GenesisError(.invalidPolicy, problem) }
        self.init(chainId: document.chainId, genesisTime: time, validators: validators, authorities: authorities, coin: document.assets.coin, point: document.assets.point, thanks: document.assets.thanks, cardPolicy: document.cardPolicy)
        visitorPolicy = document.visitorPolicy
        registrationPolicy = document.registrationPolicy
        chargeChannels = document.chargeChannels
        let developmentKeys = DevelopmentKeys.allPublicKeys
        let usesDevelopmentKey = validators.contains { developmentKeys.contains($0.publicKey) } || authorityKeys.contains { developmentKeys.contains($0) }
        if usesDevelopmentKey && !isLocalChain {
            throw GenesisError(.developmentKeyOutsideLocalChain, "this genesis uses a published DEVELOPMENT key but chainId '\(chainId)' does not start with '\(Genesis.localChainIdPrefix)'; generate real keys with `kizuna keys`")
        }
    }

    /// The JSON document for this genesis.
    public var document: GenesisDocument {
        GenesisDocument(
            chainId: chainId,
            genesisTime: CivilTime.formatJapan(milliseconds: genesisTime).replacingOccurrences(of: ".000+", with: "+"),
            validators: validators.validators.map { .init(name: $0.name, organisation: $0.organisation, publicKey: $0.publicKey.address.description, votingPower: $0.votingPower) },
            authorities: .init(coinIssuer: authorities.coinIssuer.address.description, registrar: authorities.registrar.address.description, city: authorities.city.address.description, auditor: authorities.auditor.address.description),
            assets: .init(coin: coin, point: point, thanks: thanks),
            cardPolicy: cardPolicy
        )
    }

    /// Pretty-printed JSON with sorted keys; with `approvals` (sorted) when there are any.
    public func jsonData(approvals: [GenesisApproval] = []) -> Data {
        var written = self.document
        written.visitorPolicy = visitorPolicy
        written.registrationPolicy = registrationPolicy
        written.chargeChannels = chargeChannels
        written.approvals = approvals.isEmpty ? nil : sortedApprovals(approvals)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(written)
    }
}

/// The published development keys of the local network. Anyone can derive them from
/// this source, so they protect nothing: a node refuses them unless the chain id marks a
/// local chain (`local-…`).
public enum DevelopmentKeys {
    public static let names = [
        "validator-city", "validator-chamber", "validator-operator", "validator-bank",
        "coin-issuer", "registrar", "city", "auditor",
        "resident-1", "resident-2", "resident-3", "merchant-1",
    ]

    /// The private key of a development identity: seed = SHA-256 of a fixed phrase and the name.
    public static func privateKey(_ name: String) -> PrivateKey {
        PrivateKey(seed: Hash.sha256(Array("KIZUNA DEVELOPMENT KEY - NEVER USE IN PRODUCTION - \(name)".utf8)).bytes)!
    }

    public static let allPublicKeys: Set<PublicKey> = Set(names.map { privateKey($0).publicKey })
}
