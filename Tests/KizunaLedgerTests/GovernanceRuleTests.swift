import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// `govern` (issue 20 must-be-true 4, issue 18 "policy on a live chain", ADR 0018,
/// docs/ledger-rules.md "Governance"): acceptance, every refusal code, the rules in force
/// before and after the effective height, and replay equality.
@Suite("Governance rules")
struct GovernanceRuleTests {
    /// Four validators of power 1 (seeds 0x21–0x24): three of them are a quorum, two are not.
    static let validatorKeys = (0x21...0x24).map { Fixture.key(UInt8($0)) }
    static let newcomer = Fixture.key(0x25)

    static func validator(_ key: PrivateKey, _ index: Int, power: UInt64 = 1) -> Validator {
        Validator(name: "validator-\(index)", organisation: "Org \(index)", publicKey: key.publicKey, votingPower: power)
    }

    static var genesisValidators: [Validator] { validatorKeys.enumerated().map { validator($1, $0) } }

    static func genesis(chainId: String = Fixture.chainId) -> Genesis {
        Genesis(chainId: chainId, genesisTime: Fixture.genesisTime, validators: genesisValidators, authorities: Fixture.authorities,
                coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy)
    }

    /// The set after the change: validator 3 leaves, the newcomer joins.
    static var nextValidators: [Validator] { Array(genesisValidators.prefix(3)) + [validator(newcomer, 4)] }

    static func govern(_ ledger: LedgerHarness, _ change: GovernanceChange, approvers: [PrivateKey], by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        ledger.sign(signer, .govern(Govern(change: change, approvals: approvers.map { change.approve(chainId: ledger.genesis.chainId, with: $0) })))
    }

    static func setChange(at height: UInt64, _ validators: [Validator] = nextValidators) -> GovernanceChange {
        GovernanceChange(effectiveHeight: height, proposal: .validatorSet(validators))
    }

    static var raisedCoinPolicy: AssetPolicy {
        var policy = Genesis.defaultCoinPolicy
        policy.holderCapYen = 200_000
        return policy
    }

    @Test("a validator-set change approved by 3 of 4 is scheduled; the set is in force from its height, not before; replay gives the same state")
    func validatorSetChange() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        let change = Self.setChange(at: 13)
        let transaction = Self.govern(ledger, change, approvers: Array(Self.validatorKeys.prefix(3)))
        try ledger.commitAll([transaction])
        #expect(ledger.height == 1)
        let schedule = try ledger.ledger.validatorSchedule(store: ledger.store)
        // Stored as a set: sorted by key, whatever order the proposal listed.
        #expect(schedule.changes == [ValidatorSetChange(effectiveHeight: 13, validators: ValidatorSet(Self.nextValidators).validators)])
        #expect(schedule.set(at: 12).hash == ValidatorSet(Self.genesisValidators).hash)
        #expect(schedule.set(at: 13).hash == ValidatorSet(Self.nextValidators).hash)
        #expect(schedule.pending(at: 2)?.from == 13)
        #expect(try ledger.ledger.inForce(at: 12, store: ledger.store).genesis.validators.validator(for: Self.validatorKeys[3].publicKey) != nil)
        #expect(try ledger.ledger.inForce(at: 13, store: ledger.store).genesis.validators.validator(for: Self.validatorKeys[3].publicKey) == nil)
        #expect(try ledger.ledger.inForce(at: 13, store: ledger.store).genesis.validators.validator(for: Self.newcomer.publicKey) != nil)
        // The chain's rebuild of the schedule from the block agrees with the state's.
        let block = Block(header: BlockHeader(chainId: Fixture.chainId, height: 1, previousBlockHash: .zero, timestamp: 1, transactionsRoot: .zero, stateRoot: .zero,
                                              proposer: Self.validatorKeys[0].publicKey, validatorSetHash: .zero, lastCommitHash: .zero),
                          transactions: [transaction], lastCommit: nil)
        #expect(ValidatorSchedule(genesis: ValidatorSet(Self.genesisValidators)).noting(block) == schedule)
        // Replay: the same block on a fresh ledger gives the same state root.
        let replay = try LedgerHarness(genesis: Self.genesis())
        let execution = try replay.block([transaction])
        #expect(execution.stateRoot == ledger.stateRoot)
        #expect(snapshot(replay.store) == snapshot(ledger.store))
    }

    @Test("ledger.not_authorised: a governance change is submitted by an authority")
    func notAuthorised() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        let resident = Fixture.account(0)
        try ledger.commitAll([ledger.register(resident.publicKey)])
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 20), approvers: Self.validatorKeys, by: resident), .notAuthorised)
    }

    @Test("ledger.governance_too_soon: the effective height must be more than 10 blocks after the block")
    func tooSoon() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        // The next block is 1: height 11 is exactly 10 ahead, refused; 12 is accepted.
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 11), approvers: Self.validatorKeys), .governanceTooSoon)
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 1), approvers: Self.validatorKeys), .governanceTooSoon)
        try ledger.commitAll([Self.govern(ledger, Self.setChange(at: 12), approvers: Self.validatorKeys)])
    }

    @Test("ledger.governance_no_quorum: 2 of 4 is not more than two thirds; nor is no approval at all")
    func noQuorum() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 20), approvers: Array(Self.validatorKeys.prefix(2))), .governanceNoQuorum)
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 20), approvers: []), .governanceNoQuorum)
    }

    @Test("ledger.governance_duplicate_approval, ledger.governance_unknown_validator, ledger.governance_bad_approval")
    func badApprovals() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        let change = Self.setChange(at: 20)
        let keys = Self.validatorKeys
        let twice = Govern(change: change, approvals: [keys[0], keys[0], keys[1], keys[2]].map { change.approve(chainId: Fixture.chainId, with: $0) })
        try ledger.expectRejected(ledger.sign(Fixture.cityKey, .govern(twice)), .governanceDuplicateApproval)
        // The newcomer is not a validator yet: its approval is refused, even beside a quorum.
        try ledger.expectRejected(Self.govern(ledger, change, approvers: Array(keys.prefix(3)) + [Self.newcomer]), .governanceUnknownValidator)
        // Approvals signed for another height, or on another chain, do not verify for this change.
        let other = Self.setChange(at: 21)
        let forOtherHeight = Govern(change: change, approvals: keys.prefix(3).map { other.approve(chainId: Fixture.chainId, with: $0) })
        try ledger.expectRejected(ledger.sign(Fixture.cityKey, .govern(forOtherHeight)), .governanceBadApproval)
        let forOtherChain = Govern(change: change, approvals: keys.prefix(3).map { change.approve(chainId: "local-other", with: $0) })
        try ledger.expectRejected(ledger.sign(Fixture.cityKey, .govern(forOtherChain)), .governanceBadApproval)
    }

    @Test("ledger.governance_invalid_proposal: an empty set, a repeated key, an account's key, a set that changes nothing, an expiry change, rates over 100%")
    func invalidProposals() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        let resident = Fixture.account(0)
        try ledger.commitAll([ledger.register(resident.publicKey)])
        let keys = Self.validatorKeys
        for validators in [
            [],
            Self.genesisValidators + [Self.validator(keys[0], 9)],
            Self.genesisValidators + [Self.validator(resident, 9)],
            Self.genesisValidators + [Self.validator(Fixture.cityKey, 9)],
            Self.genesisValidators.reversed().map { $0 },
            [Self.validator(keys[0], 0, power: 0)],
        ] as [[Validator]] {
            try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 20, validators), approvers: keys), .governanceInvalidProposal)
        }
        var expiry = Genesis.defaultCoinPolicy
        expiry.expiry = ExpiryRule(kind: .never, months: 0)
        var rate = Genesis.defaultCoinPolicy
        rate.redemptionFeeBasisPoints = 10_001
        var limits = Genesis.defaultCoinPolicy
        limits.sendLimitPerTransactionYen = limits.sendLimitPerMonthYen + 1
        for policy in [expiry, rate, limits] {
            let change = GovernanceChange(effectiveHeight: 20, proposal: .assetPolicy(asset: .coin, policy: policy))
            try ledger.expectRejected(Self.govern(ledger, change, approvers: keys), .governanceInvalidProposal)
        }
    }

    @Test("ledger.governance_change_pending: one validator-set change, and one amendment per asset, at a time")
    func changePending() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        let keys = Self.validatorKeys
        try ledger.commitAll([Self.govern(ledger, Self.setChange(at: 15), approvers: keys)])
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 30, Array(Self.genesisValidators.prefix(3))), approvers: keys), .governanceChangePending)
        let amend = GovernanceChange(effectiveHeight: 20, proposal: .assetPolicy(asset: .coin, policy: Self.raisedCoinPolicy))
        try ledger.commitAll([Self.govern(ledger, amend, approvers: keys)])
        var again = Self.raisedCoinPolicy
        again.holderCapYen = 300_000
        try ledger.expectRejected(Self.govern(ledger, GovernanceChange(effectiveHeight: 25, proposal: .assetPolicy(asset: .coin, policy: again)), approvers: keys), .governanceChangePending)
        // Another asset's amendment is not blocked.
        var thanks = Genesis.defaultThanksPolicy
        thanks.sendLimitPerTransactionYen = 2_000
        try ledger.commitAll([Self.govern(ledger, GovernanceChange(effectiveHeight: 25, proposal: .assetPolicy(asset: .thanks, policy: thanks)), approvers: keys)])
        // Once the set is in force, the next set change is accepted, approved by the new set.
        while ledger.height < 15 { try ledger.commitAll([]) }
        let newKeys = Array(keys.prefix(3)) + [Self.newcomer]
        try ledger.expectRejected(Self.govern(ledger, Self.setChange(at: 40, Self.genesisValidators), approvers: [keys[3], keys[0]]), .governanceUnknownValidator)
        try ledger.commitAll([Self.govern(ledger, Self.setChange(at: 40, Self.genesisValidators), approvers: newKeys)])
    }

    @Test("a raised coin holder cap (利用額上限増加) holds from its height: a charge over the old cap is refused before and accepted after")
    func policyAmendment() throws {
        let ledger = try LedgerHarness(genesis: Self.genesis())
        let alice = Fixture.account(0)
        try ledger.setUpResidents([(alice, 90_000)])
        let amend = GovernanceChange(effectiveHeight: 16, proposal: .assetPolicy(asset: .coin, policy: Self.raisedCoinPolicy))
        try ledger.commitAll([Self.govern(ledger, amend, approvers: Array(Self.validatorKeys.suffix(3)))])
        #expect(try ledger.ledger.policyAmendments(store: ledger.store) == [PolicyAmendment(effectiveHeight: 16, asset: .coin, policy: Self.raisedCoinPolicy)])
        while ledger.height < 14 { try ledger.commitAll([]) }
        // Block 15: the old cap of ¥100,000 still holds.
        try ledger.expectRejected(ledger.charge(alice.publicKey, 20_000), .holderCapExceeded)
        let admission = try AdmissionState(ledger: ledger.ledger, context: BlockContext(height: 15, timestamp: ledger.timestamp + 1), store: ledger.store)
        #expect(try admission.check(ledger.verify([ledger.charge(alice.publicKey, 20_000)]), ledger: ledger.ledger).failure?.code == .holderCapExceeded)
        try ledger.commitAll([])
        // Block 16: the new cap of ¥200,000; admission answers the same.
        let next = try AdmissionState(ledger: ledger.ledger, context: BlockContext(height: 16, timestamp: ledger.timestamp + 1), store: ledger.store)
        let charge = ledger.charge(alice.publicKey, 20_000)
        #expect(try next.check(ledger.verify([charge]), ledger: ledger.ledger).failure == nil)
        try ledger.commitAll([charge])
        #expect(try ledger.coin(alice) == 110_000)
        try ledger.expectRejected(ledger.charge(alice.publicKey, 90_001), .holderCapExceeded)
        #expect(try ledger.ledger.inForce(at: 15, store: ledger.store).genesis.coin.holderCapYen == 100_000)
        #expect(try ledger.ledger.inForce(at: 16, store: ledger.store).genesis.coin.holderCapYen == 200_000)
        try expectCoinInvariant(ledger.store)
    }
}

/// A validator-set change on a four-validator chain committed as the node commits
/// (`BlockValidator.propose`, `BlockStore.certify`, `BlockStore.commit`): the certificates after
/// the change are checked against the new set, and the chain verifies and replays.
@Suite("Governance on a chain")
struct GovernanceChainTests {
    final class Chain {
        let genesis = GovernanceRuleTests.genesis()
        let blocks: BlockStore
        var tipCertificate: CommitCertificate?
        var time = Fixture.time("2026-04-01T09:00:00+09:00")
        var keys: [PublicKey: PrivateKey] = [:]
        var cityNonce: UInt64 = 0

        init() throws {
            blocks = try BlockStore(store: MemoryStore(), genesis: genesis)
            for key in GovernanceRuleTests.validatorKeys + [GovernanceRuleTests.newcomer] { keys[key.publicKey] = key }
        }

        func certificate(_ block: Block, by signers: [PrivateKey]) -> CommitCertificate {
            CommitCertificate(height: block.height, round: 0, blockHash: block.hash,
                              signatures: signers.sorted { $0.publicKey < $1.publicKey }.map { CommitCertificate.precommit(chainId: genesis.chainId, height: block.height, round: 0, blockHash: block.hash, key: $0) })
        }

        /// Proposes the next block; commits it with the signatures of `signers` (default: the
        /// whole set in force at its height).
        @discardableResult
        func produce(_ transactions: [SignedTransaction] = [], signers: [PrivateKey]? = nil) throws -> Block {
            time += 1_000
            let height = try blocks.tipHeight() + 1
            let set = try blocks.validatorSet(at: height)
            let validated = try BlockValidator(blocks: blocks).propose(candidates: try transactions.map { try $0.verified(chainId: genesis.chainId) }, timestamp: time,
                                                                       proposer: set.validators[0].publicKey, lastCommit: tipCertificate)
            let certificate = certificate(validated.block, by: signers ?? set.validators.compactMap { keys[$0.publicKey] })
            try blocks.commit(try blocks.certify(validated, by: certificate))
            tipCertificate = certificate
            return validated.block
        }

        func govern(_ change: GovernanceChange, approvers: [PrivateKey]) -> SignedTransaction {
            defer { cityNonce += 1 }
            let body = Govern(change: change, approvals: approvers.map { change.approve(chainId: genesis.chainId, with: $0) })
            return Transaction(chainId: genesis.chainId, signer: Fixture.cityKey.publicKey, nonce: cityNonce, body: .govern(body)).signed(by: Fixture.cityKey)
        }
    }

    @Test("before the effective height the old set certifies; from it the removed validator's signature does not count and the newcomer's does; the chain verifies and replays")
    func setChangesOnAChain() throws {
        let chain = try Chain()
        let keys = GovernanceRuleTests.validatorKeys
        let newcomer = GovernanceRuleTests.newcomer
        let old = ValidatorSet(GovernanceRuleTests.genesisValidators)
        let next = ValidatorSet(GovernanceRuleTests.nextValidators)
        let first = try chain.produce([chain.govern(GovernanceRuleTests.setChange(at: 13), approvers: Array(keys.prefix(3)))])
        #expect(first.transactions.count == 1)
        // The newcomer cannot certify before the change.
        while try chain.blocks.tipHeight() < 11 { try chain.produce() }
        #expect(throws: CertificateError.self) { try chain.produce(signers: [keys[0], keys[1], newcomer]) }
        let twelve = try chain.produce(signers: [keys[0], keys[1], keys[3]])
        #expect(twelve.header.validatorSetHash == old.hash)

        // Height 13: three of the old set (validator 3 among them) is not a quorum of the new set.
        #expect(throws: CertificateError.self) { try chain.produce(signers: [keys[0], keys[1], keys[3]]) }
        let thirteen = try chain.produce(signers: [keys[0], keys[1], newcomer])
        #expect(thirteen.header.validatorSetHash == next.hash)
        try chain.produce(signers: [keys[1], keys[2], newcomer])
        try chain.produce()
        #expect(try chain.blocks.tipHeight() == 15)

        let summary = try ChainVerifier(blocks: chain.blocks).verify()
        #expect(summary.height == 15)
        let replayed = try ChainReports.state(at: 15, of: chain.blocks)
        #expect(try replayed.tip().stateRoot == (try chain.blocks.tip().stateRoot))
        #expect(try replayed.validatorSchedule() == (try chain.blocks.validatorSchedule()))
    }
}
