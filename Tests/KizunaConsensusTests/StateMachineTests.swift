import KizunaConsensus
import KizunaCore
import Testing

/// Event-by-event tests of the core, with real Ed25519 signatures: feed one event, assert the
/// exact actions (NIO state-machine test style).
@Suite struct StateMachineTests {
    let fixture = Fixture()

    @Test func nonProposerStartSchedulesRebroadcastAndProposeTimeout() {
        var machine = fixture.machine(fixture.nonProposer())
        #expect(machine.handle(.start) == [
            .scheduleTimeout(height: 1, round: 0, step: .rebroadcast, durationMilliseconds: 1000),
            .scheduleTimeout(height: 1, round: 0, step: .propose, durationMilliseconds: 3000),
        ])
        #expect(machine.height == 1 && machine.round == 0 && machine.step == .propose)
        #expect(machine.handle(.start) == [])
    }

    @Test func proposerBuildsSignsBroadcastsThenPrevotesItsBlock() {
        let proposer = fixture.proposer(round: 0)
        var machine = fixture.machine(proposer)
        #expect(machine.handle(.start) == [
            .scheduleTimeout(height: 1, round: 0, step: .rebroadcast, durationMilliseconds: 1000),
            .buildProposal(height: 1, round: 0),
            .scheduleTimeout(height: 1, round: 0, step: .propose, durationMilliseconds: 3000),
        ])
        let block = fixture.block(proposer: proposer)
        let unsigned = UnsignedProposal(height: 1, round: 0, polRound: nil, block: block, proposer: proposer.publicKey)
        #expect(machine.handle(.proposalBlockReady(block)) == [.signAndPersist(.proposal(unsigned))])
        let signed = fixture.sign(.proposal(unsigned), with: proposer)
        // Broadcast only after the signer persisted; then the proposer prevotes its own block.
        #expect(machine.handle(.signed(signed)) == [
            .broadcast(signed),
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: block.hash, validator: proposer.publicKey))),
        ])
        #expect(machine.step == .prevote)
    }

    @Test func proposalIsValidatedBeforeThePrevote() {
        let me = fixture.nonProposer()
        let proposer = fixture.proposer(round: 0)
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: proposer)
        let proposal = fixture.proposal(block, by: proposer)
        #expect(machine.handle(.proposalReceived(proposal, localTimeMilliseconds: Fixture.genesisTime + 1000)) == [.requestValidation(block)])
        #expect(machine.step == .propose)
        let prevote = UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: block.hash, validator: me.publicKey)
        #expect(machine.handle(.blockValidated(hash: block.hash, valid: true)) == [.signAndPersist(.vote(prevote))])
        let signed = fixture.sign(.vote(prevote), with: me)
        #expect(machine.handle(.signed(signed)) == [.broadcast(signed)])
        // The same proposal again changes nothing.
        #expect(machine.handle(.proposalReceived(proposal, localTimeMilliseconds: Fixture.genesisTime + 1000)) == [])
    }

    @Test func invalidBlockIsPrevotedNil() {
        let me = fixture.nonProposer()
        let proposer = fixture.proposer(round: 0)
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: proposer)
        _ = machine.handle(.proposalReceived(fixture.proposal(block, by: proposer), localTimeMilliseconds: Fixture.genesisTime + 1000))
        #expect(machine.handle(.blockValidated(hash: block.hash, valid: false)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: nil, validator: me.publicKey))),
        ])
    }

    @Test(arguments: [
        (Fixture.genesisTime + 1000, UInt64(Fixture.genesisTime + 1000 - 2001)),  // from the future
        (Fixture.genesisTime + 1000, UInt64(Fixture.genesisTime + 1000 + 10_001)),  // stale
    ])
    func untimelyProposalIsPrevotedNil(timestamp: UInt64, localTime: UInt64) {
        let me = fixture.nonProposer()
        let proposer = fixture.proposer(round: 0)
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: proposer, timestamp: timestamp)
        #expect(machine.handle(.proposalReceived(fixture.proposal(block, by: proposer), localTimeMilliseconds: localTime)) == [.requestValidation(block)])
        #expect(machine.handle(.blockValidated(hash: block.hash, valid: true)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: nil, validator: me.publicKey))),
        ])
    }

    @Test func timestampNotAfterParentIsStructurallyInvalid() {
        let me = fixture.nonProposer()
        let proposer = fixture.proposer(round: 0)
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: proposer, timestamp: Fixture.genesisTime)
        // No validation is asked for: the machine refuses it itself and prevotes nil.
        #expect(machine.handle(.proposalReceived(fixture.proposal(block, by: proposer), localTimeMilliseconds: Fixture.genesisTime)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: nil, validator: me.publicKey))),
        ])
    }

    @Test func proposalFromTheWrongProposerOrWithABadSignatureIsIgnored() {
        let me = fixture.nonProposer()
        let proposer = fixture.proposer(round: 0)
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: proposer)
        let impostor = fixture.others(than: proposer).first { $0.publicKey != me.publicKey }!
        #expect(machine.handle(.proposalReceived(fixture.proposal(block, by: impostor), localTimeMilliseconds: Fixture.genesisTime + 1000)) == [])
        var forged = fixture.proposal(block, by: proposer)
        forged.signature = impostor.sign([1, 2, 3])
        #expect(machine.handle(.proposalReceived(forged, localTimeMilliseconds: Fixture.genesisTime + 1000)) == [])
        #expect(machine.proposal(round: 0) == nil)
    }

    /// Drives a non-proposer to the point where it prevoted `block` in round 0.
    func prevoted(_ me: PrivateKey, _ block: Block) -> ConsensusStateMachine {
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let proposer = fixture.proposer(round: 0)
        _ = machine.handle(.proposalReceived(fixture.proposal(block, by: proposer), localTimeMilliseconds: Fixture.genesisTime + 1000))
        let request = machine.handle(.blockValidated(hash: block.hash, valid: true)).signingRequest!
        _ = machine.handle(.signed(fixture.sign(request, with: me)))
        return machine
    }

    @Test func polkaLocksAndPrecommits() {
        let me = fixture.nonProposer()
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = prevoted(me, block)
        let others = fixture.others(than: me)
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, block.hash, by: others[0]))) == [])
        // Three of four: a quorum for the block (line 34 then line 36).
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, block.hash, by: others[1]))) == [
            .scheduleTimeout(height: 1, round: 0, step: .prevote, durationMilliseconds: 1000),
            .signAndPersist(.vote(UnsignedVote(step: .precommit, height: 1, round: 0, blockHash: block.hash, validator: me.publicKey))),
        ])
        #expect(machine.lockedValue == block.hash && machine.lockedRound == 0)
        #expect(machine.validValue == block.hash && machine.validRound == 0)
        #expect(machine.step == .precommit)
    }

    @Test func quorumOfPrecommitsCommitsWithAVerifyingCertificateAndMovesOn() throws {
        let me = fixture.nonProposer()
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = prevoted(me, block)
        let others = fixture.others(than: me)
        for other in others.prefix(2) { _ = machine.handle(.voteReceived(fixture.vote(.prevote, block.hash, by: other))) }
        _ = machine.handle(.signed(fixture.sign(.vote(UnsignedVote(step: .precommit, height: 1, round: 0, blockHash: block.hash, validator: me.publicKey)), with: me)))
        #expect(machine.handle(.voteReceived(fixture.vote(.precommit, block.hash, by: others[0]))) == [])
        let actions = machine.handle(.voteReceived(fixture.vote(.precommit, block.hash, by: others[1])))
        guard case .commit(let committed, let certificate) = actions.first else {
            Issue.record("expected a commit first, got \(actions)")
            return
        }
        #expect(committed == block)
        #expect(certificate.round == 0 && certificate.signatures.count == 3)
        try certificate.verify(chainId: Fixture.chainId, height: 1, blockHash: block.hash, validators: fixture.set)
        #expect(machine.height == 2 && machine.round == 0 && machine.step == .propose && machine.lockedValue == nil)
        #expect(machine.tip == ChainTip(nextHeight: 2, parentHash: block.hash, parentTimestampMilliseconds: block.header.timestamp, lastCommit: certificate))
        #expect(actions.contains(.scheduleTimeout(height: 2, round: 0, step: .propose, durationMilliseconds: 3000)))
    }

    @Test func duplicateVotesCountOnceAndEquivocationIsKept() {
        let me = fixture.nonProposer()
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = prevoted(me, block)
        let other = fixture.others(than: me)[0]
        let first = fixture.vote(.prevote, block.hash, by: other)
        #expect(machine.handle(.voteReceived(first)) == [])
        #expect(machine.handle(.voteReceived(first)) == [])
        let second = fixture.vote(.prevote, nil, by: other)
        #expect(machine.handle(.voteReceived(second)) == [])
        #expect(machine.evidence == [.duplicateVote(first, second)])
        // Still only two prevotes for the block (mine and the first): no precommit yet.
        #expect(machine.step == .prevote)
    }

    @Test func votesWithBadSignaturesOrFromNonMembersAreIgnored() {
        let me = fixture.nonProposer()
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = prevoted(me, block)
        let others = fixture.others(than: me)
        var forged = fixture.vote(.prevote, block.hash, by: others[0])
        forged.signature = others[1].sign([0])
        let stranger = PrivateKey(seed: [UInt8](repeating: 99, count: 32))!
        #expect(machine.handle(.voteReceived(forged)) == [])
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, block.hash, by: stranger))) == [])
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, block.hash, by: others[1]))) == [])
        #expect(machine.step == .prevote)
    }

    @Test func timeoutsWalkTheRoundAndGrowLinearly() {
        let me = fixture.nonProposer(round: 0)
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        // A stale timeout does nothing.
        #expect(machine.handle(.timeoutFired(height: 1, round: 3, step: .propose)) == [])
        #expect(machine.handle(.timeoutFired(height: 1, round: 0, step: .propose)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: nil, validator: me.publicKey))),
        ])
        #expect(machine.handle(.timeoutFired(height: 1, round: 0, step: .prevote)) == [
            .signAndPersist(.vote(UnsignedVote(step: .precommit, height: 1, round: 0, blockHash: nil, validator: me.publicKey))),
        ])
        var expected: [ConsensusStateMachine.Action] = []
        if fixture.proposer(round: 1).publicKey == me.publicKey { expected.append(.buildProposal(height: 1, round: 1)) }
        expected.append(.scheduleTimeout(height: 1, round: 1, step: .propose, durationMilliseconds: 3500))
        #expect(machine.handle(.timeoutFired(height: 1, round: 0, step: .precommit)) == expected)
        #expect(machine.round == 1 && machine.step == .propose)
        #expect(fixture.configuration.timeoutMilliseconds(.prevote, round: 4) == 3000)
    }

    @Test func quorumOfNilPrevotesPrecommitsNil() {
        let me = fixture.nonProposer()
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let request = machine.handle(.timeoutFired(height: 1, round: 0, step: .propose)).signingRequest!
        _ = machine.handle(.signed(fixture.sign(request, with: me)))
        let others = fixture.others(than: me)
        _ = machine.handle(.voteReceived(fixture.vote(.prevote, nil, by: others[0])))
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, nil, by: others[1]))) == [
            .scheduleTimeout(height: 1, round: 0, step: .prevote, durationMilliseconds: 1000),
            .signAndPersist(.vote(UnsignedVote(step: .precommit, height: 1, round: 0, blockHash: nil, validator: me.publicKey))),
        ])
    }

    @Test func moreThanAThirdInAHigherRoundSkipsToIt() {
        let me = fixture.nonProposer()
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let others = fixture.others(than: me)
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, nil, round: 5, by: others[0]))) == [])
        #expect(machine.round == 0)
        let actions = machine.handle(.voteReceived(fixture.vote(.prevote, nil, round: 5, by: others[1])))
        #expect(machine.round == 5)
        #expect(actions.contains(.scheduleTimeout(height: 1, round: 5, step: .propose, durationMilliseconds: 3000 + 5 * 500)))
    }

    /// Locks on `first` in round 0, then sees a fresh proposal of another block in round 1.
    func lockedThenOffered(ignoreLock: Bool) -> (ConsensusStateMachine, PrivateKey, Block) {
        var fixture = self.fixture
        fixture.configuration.faultInjection.ignoreLock = ignoreLock
        let proposer1 = fixture.proposer(round: 1)
        let me = fixture.keys.first { $0.publicKey != fixture.proposer(round: 0).publicKey && $0.publicKey != proposer1.publicKey }!
        let first = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        _ = machine.handle(.proposalReceived(fixture.proposal(first, by: fixture.proposer(round: 0)), localTimeMilliseconds: Fixture.genesisTime + 1000))
        _ = machine.handle(.blockValidated(hash: first.hash, valid: true))
        for other in fixture.others(than: me) { _ = machine.handle(.voteReceived(fixture.vote(.prevote, first.hash, by: other))) }
        #expect(machine.lockedValue == first.hash)
        _ = machine.handle(.timeoutFired(height: 1, round: 0, step: .precommit))
        #expect(machine.round == 1)
        let second = fixture.block(proposer: proposer1, payload: 2)
        _ = machine.handle(.proposalReceived(fixture.proposal(second, round: 1, by: proposer1), localTimeMilliseconds: Fixture.genesisTime + 1000))
        return (machine, me, second)
    }

    @Test func lockedValidatorPrevotesNilForAnotherBlock() {
        var (machine, me, second) = lockedThenOffered(ignoreLock: false)
        #expect(machine.handle(.blockValidated(hash: second.hash, valid: true)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 1, blockHash: nil, validator: me.publicKey))),
        ])
    }

    @Test func ignoreLockMutationPrevotesTheOtherBlock() {
        var (machine, me, second) = lockedThenOffered(ignoreLock: true)
        #expect(machine.handle(.blockValidated(hash: second.hash, valid: true)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 1, blockHash: second.hash, validator: me.publicKey))),
        ])
    }

    @Test func votesAreCountedByPowerNotByNumber() {
        let weighted = Fixture(powers: [5, 1, 1, 1])
        let heavy = weighted.keys[0]
        let light = Array(weighted.keys.dropFirst())
        var machine = weighted.machine(light[0])
        _ = machine.handle(.start)
        _ = machine.handle(.timeoutFired(height: 1, round: 0, step: .propose))
        // Three of four validators, but only 3 of 8 power: no quorum.
        for key in light { _ = machine.handle(.voteReceived(weighted.vote(.prevote, nil, by: key))) }
        #expect(machine.step == .prevote)
        #expect(machine.handle(.voteReceived(weighted.vote(.prevote, nil, by: heavy))).contains(
            .signAndPersist(.vote(UnsignedVote(step: .precommit, height: 1, round: 0, blockHash: nil, validator: light[0].publicKey)))))
    }

    @Test func aQuorumOfPrecommitsForAnUnknownBlockRequestsIt() {
        let me = fixture.nonProposer()
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        let others = fixture.others(than: me)
        for other in others.prefix(2) { _ = machine.handle(.voteReceived(fixture.vote(.precommit, block.hash, by: other))) }
        let actions = machine.handle(.voteReceived(fixture.vote(.precommit, block.hash, by: others[2])))
        #expect(actions.first == .requestMissingBlock(block.hash))
        #expect(machine.handle(.blockReceived(block)) == [.requestValidation(block)])
        let committed = machine.handle(.blockValidated(hash: block.hash, valid: true))
        guard case .commit(let committedBlock, _) = committed.first else {
            Issue.record("expected a commit, got \(committed)")
            return
        }
        #expect(committedBlock == block && machine.height == 2)
    }

    @Test func aPeerAheadTriggersBlockSyncAndAVerifiedDecisionCommits() {
        let me = fixture.nonProposer()
        var machine = fixture.machine(me)
        _ = machine.handle(.start)
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        let others = fixture.others(than: me)
        let ahead = fixture.vote(.prevote, nil, height: 2, by: others[0])
        #expect(machine.handle(.voteReceived(ahead)) == [.requestDecision(height: 1, from: others[0].publicKey)])
        // Throttled until the next rebroadcast tick.
        #expect(machine.handle(.voteReceived(fixture.vote(.prevote, nil, height: 2, by: others[1]))) == [])
        let signatures = others.map { CommitCertificate.precommit(chainId: Fixture.chainId, height: 1, round: 0, blockHash: block.hash, key: $0) }
        var weak = CommitCertificate(height: 1, round: 0, blockHash: block.hash, signatures: Array(signatures.prefix(2)))
        #expect(machine.handle(.decisionReceived(block, weak)) == [])
        weak = CommitCertificate(height: 1, round: 0, blockHash: block.hash, signatures: signatures)
        let actions = machine.handle(.decisionReceived(block, weak))
        #expect(actions.first == .commit(block, weak))
        #expect(machine.height == 2)
    }

    /// A validator that precommitted `first` in round 0 and crashed restarts in round 1 (the
    /// signer record's resume round). With the persisted lock restored it prevotes nil for a
    /// fresh proposal of another block; without it, it would prevote that block (the danger
    /// the persisted lock removes).
    func restartedAfterLocking(restoreLock: Bool) -> (ConsensusStateMachine, PrivateKey, Block) {
        let proposer1 = fixture.proposer(round: 1)
        let me = fixture.keys.first { $0.publicKey != fixture.proposer(round: 0).publicKey && $0.publicKey != proposer1.publicKey }!
        let first = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = ConsensusStateMachine(configuration: fixture.configuration, validators: fixture.set, ownKey: me.publicKey, verifier: Ed25519Verifier(),
                                            tip: fixture.tip, startRound: 1, restoredLock: restoreLock ? (round: 0, block: first) : nil)
        _ = machine.handle(.start)
        let second = fixture.block(proposer: proposer1, payload: 2)
        _ = machine.handle(.proposalReceived(fixture.proposal(second, round: 1, by: proposer1), localTimeMilliseconds: Fixture.genesisTime + 1000))
        return (machine, me, second)
    }

    @Test func restoredLockKeepsARestartedValidatorFromPrevotingAnotherBlock() {
        var (machine, me, second) = restartedAfterLocking(restoreLock: true)
        #expect(machine.lockedRound == 0)
        #expect(machine.handle(.blockValidated(hash: second.hash, valid: true)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 1, blockHash: nil, validator: me.publicKey))),
        ])
    }

    @Test func withoutTheRestoredLockTheRestartedValidatorWouldPrevoteAnotherBlock() {
        var (machine, me, second) = restartedAfterLocking(restoreLock: false)
        #expect(machine.handle(.blockValidated(hash: second.hash, valid: true)) == [
            .signAndPersist(.vote(UnsignedVote(step: .prevote, height: 1, round: 1, blockHash: second.hash, validator: me.publicKey))),
        ])
    }

    @Test func aLockOfAnotherHeightIsIgnored() {
        let me = fixture.nonProposer()
        let stale = fixture.block(height: 7, proposer: fixture.proposer(round: 0))
        let machine = ConsensusStateMachine(configuration: fixture.configuration, validators: fixture.set, ownKey: me.publicKey, verifier: Ed25519Verifier(),
                                            tip: fixture.tip, startRound: 1, restoredLock: (round: 0, block: stale))
        #expect(machine.lockedValue == nil && machine.lockedRound == nil)
    }

    @Test func restartResumesAtTheSignerRecordsRound() {
        var machine = fixture.machine(fixture.nonProposer(round: 3), startRound: 3)
        let actions = machine.handle(.start)
        #expect(machine.round == 3)
        #expect(actions.last == .scheduleTimeout(height: 1, round: 3, step: .propose, durationMilliseconds: 4500))
    }

    @Test func rebroadcastResendsOwnMessagesOfTheRound() {
        let me = fixture.nonProposer()
        let block = fixture.block(proposer: fixture.proposer(round: 0))
        var machine = prevoted(me, block)
        let prevote = fixture.sign(.vote(UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: block.hash, validator: me.publicKey)), with: me)
        #expect(machine.handle(.timeoutFired(height: 1, round: 0, step: .rebroadcast)) == [
            .broadcast(prevote),
            .scheduleTimeout(height: 1, round: 0, step: .rebroadcast, durationMilliseconds: 1000),
        ])
    }
}
