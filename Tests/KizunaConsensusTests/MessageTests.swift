import KizunaConsensus
import KizunaCore
import Testing

@Suite struct MessageTests {
    let fixture = Fixture()

    @Test func messagesRoundTripCanonically() throws {
        let proposer = fixture.keys[0]
        let block = fixture.block(proposer: proposer)
        let messages: [ConsensusMessage] = [
            .proposal(fixture.proposal(block, round: 3, polRound: 1, by: proposer)),
            .proposal(fixture.proposal(block, by: proposer)),
            .vote(fixture.vote(.prevote, block.hash, round: 2, by: proposer)),
            .vote(fixture.vote(.precommit, nil, by: proposer)),
        ]
        for message in messages {
            let bytes = message.canonicalBytes
            #expect(try ConsensusMessage.decodeFromPeer(bytes) == message)
            #expect(try ConsensusMessage.decodeFromPeer(bytes).canonicalBytes == bytes)
        }
    }

    @Test func aVoteWithTheProposalStepOrAnUnknownTagIsRefused() {
        var bytes = ConsensusMessage.vote(fixture.vote(.prevote, nil, by: fixture.keys[0])).canonicalBytes
        bytes[1] = VoteStep.proposal.rawValue
        #expect(throws: DecodingError(.invalidTag, "", offset: 0)) { try ConsensusMessage.decodeFromPeer(bytes) }
        bytes[0] = 9
        #expect(throws: DecodingError(.invalidTag, "", offset: 0)) { try ConsensusMessage.decodeFromPeer(bytes) }
    }

    @Test func signingBytesAreDomainSeparatedAndNilSignsZero() {
        let hash = Hash.sha256([1])
        let proposal = proposalSigningBytes(chainId: "c", height: 1, round: 2, polRound: nil, blockHash: hash)
        #expect(Array(proposal.prefix(19)) == Array("KIZUNA/PROPOSAL/V1".utf8) + [0])
        // "c" (4-byte length + 1), height 8, round 4, option tag 1, hash 32.
        #expect(proposal.count == 19 + 5 + 8 + 4 + 1 + 32)
        #expect(proposalSigningBytes(chainId: "c", height: 1, round: 2, polRound: 0, blockHash: hash).count == proposal.count + 4)
        let nilVote = UnsignedVote(step: .prevote, height: 1, round: 0, blockHash: nil, validator: fixture.keys[0].publicKey)
        #expect(nilVote.signingBytes(chainId: "c") == voteSigningBytes(chainId: "c", height: 1, round: 0, step: .prevote, blockHash: .zero))
    }

    @Test func proposerScheduleIsWeightedAndDeterministic() {
        let equal = ProposerSchedule(Fixture().set)
        #expect(Set((0..<4).map { equal.proposer(height: 1, round: UInt32($0)).publicKey }).count == 4)
        let weighted = Fixture(powers: [3, 1])
        let schedule = ProposerSchedule(weighted.set)
        #expect(schedule.slots.count == 4)
        let heavy = (0..<4).filter { schedule.proposer(height: UInt64($0), round: 0).votingPower == 3 }.count
        #expect(heavy == 3)
        // Height and round both advance the rotation; the function is pure.
        #expect(schedule.proposer(height: 2, round: 1) == schedule.proposer(height: 3, round: 0))
        #expect(ProposerSchedule(Fixture(powers: [6, 2, 2]).set).slots.count == 5)
    }

    @Test func oneThirdIsStrict() {
        #expect(!ConsensusStateMachine.exceedsOneThird(1, of: 3))
        #expect(ConsensusStateMachine.exceedsOneThird(2, of: 4))
        #expect(ConsensusStateMachine.exceedsOneThird(UInt64.max, of: UInt64.max))
    }
}
