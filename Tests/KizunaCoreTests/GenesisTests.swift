import Foundation
import KizunaCore
import Testing

@Suite("Genesis documents")
struct GenesisTests {
    /// A valid document for `chainId`, with development keys unless `production` is set.
    static func document(chainId: String = "local-test-1", production: Bool = false) -> GenesisDocument {
        func key(_ name: String) -> PublicKey { production ? Fixtures.testKey(name).publicKey : Fixtures.key(name).publicKey }
        let validators = Fixtures.validatorNames.map { Validator(name: $0, organisation: "org \($0)", publicKey: key($0), votingPower: 1) }
        let genesis = Genesis(chainId: chainId, genesisTime: Fixtures.exampleTime, validators: validators,
                              authorities: Authorities(coinIssuer: key("coin-issuer"), registrar: key("registrar"), city: key("city"), auditor: key("auditor")),
                              coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy)
        return genesis.document
    }

    static func code(_ document: GenesisDocument) -> GenesisError.Code? {
        genesisErrorCode { () throws(GenesisError) in _ = try Genesis(json: try! JSONEncoder().encode(document)) }
    }

    @Test func validDocumentsRoundTrip() throws {
        for document in [GenesisTests.document(), GenesisTests.document(chainId: "kizuna-city-1", production: true)] {
            let genesis = try Genesis(json: JSONEncoder().encode(document))
            #expect(genesis.chainId == document.chainId)
            #expect(genesis.genesisTime == Fixtures.exampleTime)
            #expect(genesis.validators.validators.count == 4)
            let again = try Genesis(json: genesis.jsonData())
            #expect(again == genesis)
            #expect(again.hash == genesis.hash)
            #expect(genesis.hash == Fixtures.handTagged("KIZUNA/GENESIS/V1", genesis.canonicalBytes))
        }
        #expect(try Genesis(json: JSONEncoder().encode(GenesisTests.document())).isLocalChain)
        // The hash pins the chain id.
        let a = try Genesis(json: JSONEncoder().encode(GenesisTests.document(chainId: "local-a")))
        let b = try Genesis(json: JSONEncoder().encode(GenesisTests.document(chainId: "local-b")))
        #expect(a.hash != b.hash)
    }

    @Test func chainIds() {
        for bad in ["", "Local-1", "local_1", "local 1", "local.1", "ローカル", String(repeating: "a", count: 65)] {
            var document = GenesisTests.document()
            document.chainId = bad
            #expect(GenesisTests.code(document) == .invalidChainId, "\(bad)")
        }
        var longest = GenesisTests.document(production: true)
        longest.chainId = String(repeating: "a", count: 64)
        #expect(GenesisTests.code(longest) == nil)
    }

    @Test func developmentKeysOnlyOnLocalChains() {
        #expect(GenesisTests.code(GenesisTests.document(chainId: "kizuna-mainnet")) == .developmentKeyOutsideLocalChain)
        #expect(GenesisTests.code(GenesisTests.document(chainId: "local-anything")) == nil)
        #expect(GenesisTests.code(GenesisTests.document(chainId: "kizuna-mainnet", production: true)) == nil)
        // One development key among real ones is enough to refuse.
        var mixed = GenesisTests.document(chainId: "kizuna-mainnet", production: true)
        mixed.authorities.auditor = Fixtures.key("auditor").publicKey.address.description
        #expect(GenesisTests.code(mixed) == .developmentKeyOutsideLocalChain)
        var mixedValidator = GenesisTests.document(chainId: "kizuna-mainnet", production: true)
        mixedValidator.validators[2].publicKey = Fixtures.key("validator-bank").publicKey.address.description
        #expect(GenesisTests.code(mixedValidator) == .developmentKeyOutsideLocalChain)
        #expect(DevelopmentKeys.allPublicKeys.count == DevelopmentKeys.names.count)
    }

    @Test func validators() {
        var duplicateKey = GenesisTests.document()
        duplicateKey.validators[1].publicKey = duplicateKey.validators[0].publicKey
        #expect(GenesisTests.code(duplicateKey) == .invalidValidators)
        var duplicateName = GenesisTests.document()
        duplicateName.validators[1].name = duplicateName.validators[0].name
        #expect(GenesisTests.code(duplicateName) == .invalidValidators)
        var zeroPower = GenesisTests.document()
        zeroPower.validators[0].votingPower = 0
        #expect(GenesisTests.code(zeroPower) == .invalidValidators)
        var overflow = GenesisTests.document()
        overflow.validators[0].votingPower = UInt64.max / 3
        #expect(GenesisTests.code(overflow) == .invalidValidators)
        var none = GenesisTests.document()
        none.validators = []
        #expect(GenesisTests.code(none) == .invalidValidators)
        var emptyName = GenesisTests.document()
        emptyName.validators[0].name = ""
        #expect(GenesisTests.code(emptyName) == .invalidValidators)
        var badKey = GenesisTests.document()
        badKey.validators[0].publicKey = "kz1notanaddress"
        #expect(GenesisTests.code(badKey) == .invalidKey)
    }

    @Test func authorities() {
        var validatorAsAuthority = GenesisTests.document()
        validatorAsAuthority.authorities.city = validatorAsAuthority.validators[0].publicKey
        #expect(GenesisTests.code(validatorAsAuthority) == .invalidAuthorities)
        var shared = GenesisTests.document()
        shared.authorities.auditor = shared.authorities.registrar
        #expect(GenesisTests.code(shared) == .invalidAuthorities)
        var typo = GenesisTests.document()
        var characters = Array(typo.authorities.registrar)
        characters[30] = characters[30] == "q" ? "r" : "q"
        typo.authorities.registrar = String(characters)
        #expect(GenesisTests.code(typo) == .invalidKey)
    }

    @Test func timeAndPolicies() {
        var time = GenesisTests.document()
        time.genesisTime = "2026-04-01 00:00:00"
        #expect(GenesisTests.code(time) == .invalidTime)
        var fee = GenesisTests.document()
        fee.assets.coin.redemptionFeeBasisPoints = 10_001
        #expect(GenesisTests.code(fee) == .invalidPolicy)
        var limits = GenesisTests.document()
        limits.assets.thanks.sendLimitPerTransactionYen = limits.assets.thanks.sendLimitPerMonthYen + 1
        #expect(GenesisTests.code(limits) == .invalidPolicy)
        var months = GenesisTests.document()
        months.assets.point.expiry = ExpiryRule(kind: .endOfMonthAfterGrant, months: 0)
        #expect(GenesisTests.code(months) == .invalidPolicy)
        var useBy = GenesisTests.document()
        useBy.assets.point.expiry = .useBy(year: 2027, month: 3, day: 31)
        #expect(GenesisTests.code(useBy) == .invalidPolicy, "a fixed use-by date is a program's rule")
        var never = GenesisTests.document()
        never.assets.point.expiry = ExpiryRule(kind: .never, months: 0)
        #expect(GenesisTests.code(never) == nil)
    }

    @Test func malformedJSON() {
        #expect(genesisErrorCode { () throws(GenesisError) in _ = try Genesis(json: Data("{".utf8)) } == .invalidJSON)
        #expect(genesisErrorCode { () throws(GenesisError) in _ = try Genesis(json: Data("{}".utf8)) } == .invalidJSON)
        #expect(genesisErrorCode { () throws(GenesisError) in _ = try Genesis(json: Data()) } == .invalidJSON)
    }

    @Test func canonicalEncodingOfPolicies() throws {
        let policy = Genesis.defaultCoinPolicy
        let bytes = policy.canonicalBytes
        #expect(bytes.count == 8 * 3 + 4 * 3 + 5)
        #expect(try AssetPolicy(canonicalBytes: bytes) == policy)
        let authorities = Authorities(coinIssuer: Fixtures.key("coin-issuer").publicKey, registrar: Fixtures.key("registrar").publicKey, city: Fixtures.key("city").publicKey, auditor: Fixtures.key("auditor").publicKey)
        #expect(try Authorities(canonicalBytes: authorities.canonicalBytes) == authorities)
        #expect(authorities.canonicalBytes.count == 128)
    }
}

@Suite("Genesis approvals")
struct GenesisApprovalTests {
    /// A four-organisation genesis with non-development keys (`Fixtures.testKey`).
    static let keys = Fixtures.validatorNames.map { Fixtures.testKey($0) }
    static func genesis(chainId: String = "kizuna-approval-1") throws -> Genesis {
        var document = GenesisTests.document(chainId: chainId, production: true)
        document.chainId = chainId
        return try Genesis(document: document)
    }

    static func code(_ body: () throws(GenesisError) -> Void) -> GenesisError.Code? { genesisErrorCode(body) }

    @Test func everyFoundingOrganisationMustApprove() throws {
        let genesis = try Self.genesis()
        #expect(genesis.foundingOrganisations.count == 4)
        let approvals = try Self.keys.map { key throws(GenesisError) in try genesis.approve(with: key) }
        let status = try genesis.requireApprovals(approvals)
        #expect(status.approved == genesis.foundingOrganisations && status.missing.isEmpty && !status.isDevelopmentGenesis)
        // One missing: refused, and the message names the organisation.
        let three = Array(approvals.dropLast())
        #expect(Self.code { () throws(GenesisError) in try genesis.requireApprovals(three) } == .missingApproval)
        #expect(try genesis.checkApprovals(three).missing == genesis.validators.validator(for: Self.keys[3].publicKey).map { [$0.organisation] })
        #expect(Self.code { () throws(GenesisError) in try genesis.requireApprovals([]) } == .missingApproval)
        // Repeating one organisation's approval does not stand in for another's.
        #expect(Self.code { () throws(GenesisError) in try genesis.requireApprovals(three + [approvals[0]]) } == .badApproval)
    }

    @Test func aChangedGenesisInvalidatesTheApprovals() throws {
        let genesis = try Self.genesis()
        let approvals = try Self.keys.map { key throws(GenesisError) in try genesis.approve(with: key) }
        var changed = genesis
        changed.coin.holderCapYen += 1
        #expect(changed.hash != genesis.hash)
        #expect(Self.code { () throws(GenesisError) in _ = try changed.checkApprovals(approvals) } == .badApproval)
        // Another chain id is another genesis.
        let other = try Self.genesis(chainId: "kizuna-approval-2")
        #expect(Self.code { () throws(GenesisError) in _ = try other.checkApprovals(approvals) } == .badApproval)
    }

    @Test func approvalsMustBeByTheNamedOrganisationsValidator() throws {
        let genesis = try Self.genesis()
        var approval = try genesis.approve(with: Self.keys[0])
        approval.organisation = try #require(genesis.foundingOrganisations.first { $0 != approval.organisation })
        #expect(Self.code { () throws(GenesisError) in _ = try genesis.checkApprovals([approval]) } == .badApproval)
        #expect(Self.code { () throws(GenesisError) in _ = try genesis.approve(with: Fixtures.testKey("stranger")) } == .badApproval)
        var garbled = try genesis.approve(with: Self.keys[0])
        garbled.signature = String(garbled.signature.dropLast(2)) + (garbled.signature.hasSuffix("00") ? "01" : "00")
        #expect(Self.code { () throws(GenesisError) in _ = try genesis.checkApprovals([garbled]) } == .badApproval)
        // The signed bytes are the domain tag and the genesis hash.
        let good = try genesis.approve(with: Self.keys[0])
        let signatureBytes = try #require([UInt8](hex: good.signature))
        let signature = try #require(Signature(signatureBytes))
        #expect(Self.keys[0].publicKey.isValidSignature(signature, for: Array("KIZUNA/GENESIS-APPROVAL/V1".utf8) + [0] + genesis.hash.bytes))
    }

    @Test func approvalsTravelOutsideTheHashAndRoundTrip() throws {
        let genesis = try Self.genesis()
        let approvals = try Self.keys.reversed().map { key throws(GenesisError) in try genesis.approve(with: key) }
        let data = genesis.jsonData(approvals: approvals)
        let document = try JSONDecoder().decode(GenesisDocument.self, from: data)
        let again = try Genesis(document: document)
        #expect(again.hash == genesis.hash)
        #expect(document.approvals?.map(\.organisation) == genesis.foundingOrganisations, "written in founding order")
        #expect(try again.requireApprovals(document.approvals ?? []).isComplete)
        // Without approvals the file is exactly what it was before approvals existed.
        #expect(!String(decoding: genesis.jsonData(), as: UTF8.self).contains("approvals"))
    }

    @Test func aDevelopmentGenesisNeedsNoApprovalsButChecksThoseItHas() throws {
        let genesis = try Genesis(document: GenesisTests.document())
        let status = try genesis.requireApprovals([])
        #expect(status.isDevelopmentGenesis && status.isComplete)
        let approval = try genesis.approve(with: Fixtures.key(Fixtures.validatorNames[0]))
        var changed = genesis
        changed.genesisTime += 1
        #expect(Self.code { () throws(GenesisError) in _ = try changed.requireApprovals([approval]) } == .badApproval)
    }
}
