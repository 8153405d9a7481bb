public import KizunaCore

/// Quorum thresholds, rounds and votes of the state machine (the paper's lines 34–67); events and receiving messages are in ConsensusStateMachine.swift.
extension ConsensusStateMachine {
    // MARK: - Thresholds

    /// More than 2/3 of the voting power ("2f+1").
    func isQuorum(power: UInt64, count: Int) -> Bool {
        if configuration.faultInjection.countVotesByNumber {
            return 3 * count > 2 * validators.validators.count
        }
        return validators.isQuorum(power)
    }

    /// More than 1/3 of the voting power ("f+1"): 3 × power > total, in 128-bit arithmetic.
    public static func exceedsOneThird(_ power: UInt64, of total: UInt64) -> Bool {
        let (highLeft, lowLeft) = UInt64(3).multipliedFullWidth(by: power)
        return highLeft > 0 || lowLeft > total
    }

    func exceedsOneThird(power: UInt64, count: Int) -> Bool {
        if configuration.faultInjection.countVotesByNumber {
            return 3 * count > validators.validators.count
        }
        return Self.exceedsOneThird(power, of: validators.totalVotingPower)
    }

    func quorumForAnything(_ key: TallyKey) -> Bool {
        guard let tally = tallies[key] else { return false }
        return isQuorum(power: tally.totalPower, count: tally.totalCount)
    }

    func quorum(_ key: TallyKey, for value: Hash?) -> Bool {
        guard let tally = tallies[key] else { return false }
        let value = value ?? .zero
        return isQuorum(power: tally.powerByValue[value] ?? 0, count: tally.countByValue[value] ?? 0)
    }

    // MARK: - Rounds and votes

    /// Line 11: StartRound.
    mutating func startRound(_ newRound: UInt32, _ actions: inout [Action]) {
        round = newRound
        step = .propose
        awaitingBlockForRound = nil
        if let own = ownKey, proposer(round: newRound) == own {
            if let value = validValue, let block = blocks[value] {
                let unsigned = UnsignedProposal(height: height, round: newRound, polRound: validRound, block: block, proposer: own)
                actions.append(.signAndPersist(.proposal(unsigned)))
            } else {
                awaitingBlockForRound = newRound
                actions.append(.buildProposal(height: height, round: newRound))
            }
        }
        schedule(.propose, &actions)
    }

    mutating func schedule(_ timeout: TimeoutStep, _ actions: inout [Action]) {
        actions.append(.scheduleTimeout(height: height, round: round, step: timeout, durationMilliseconds: configuration.timeoutMilliseconds(timeout, round: round)))
    }

    mutating func cast(_ voteStep: VoteStep, _ value: Hash?, _ actions: inout [Action]) {
        step = voteStep == .prevote ? .prevote : .precommit
        guard let own = ownKey else { return }
        actions.append(.signAndPersist(.vote(UnsignedVote(step: voteStep, height: height, round: round, blockHash: value, validator: own))))
    }

    mutating func timeoutFired(height timeoutHeight: UInt64, round timeoutRound: UInt32, step timeoutStep: TimeoutStep, _ actions: inout [Action]) {
        if timeoutStep == .rebroadcast {
            decisionRequestAllowed = true
            // This round's and the previous round's: a peer still waiting for our last
            // precommit of the previous round could otherwise never leave it.
            for message in ownMessages where message.round &+ 1 >= round && message.round <= round {
                actions.append(.broadcast(message))
            }
            // Relay the polka behind our valid value (paper §2: correct processes relay what
            // they received), so peers can accept its re-proposal by line 28.
            if let value = validValue, let polRound = validRound, let tally = tallies[TallyKey(round: polRound, step: .prevote)] {
                for vote in tally.votes(for: value).sorted(by: { $0.validator < $1.validator }) where vote.validator != ownKey {
                    actions.append(.broadcast(.vote(vote)))
                }
            }
            schedule(.rebroadcast, &actions)
            return
        }
        guard timeoutHeight == height, timeoutRound == round else { return }
        switch timeoutStep {
        case .propose:
            // Line 57.
            if step == .propose { cast(.prevote, nil, &actions) }
        case .prevote:
            // Line 61.
            if step == .prevote { cast(.precommit, nil, &actions) }
        case .precommit:
            // Line 65.
            startRound(round + 1, &actions)
        case .rebroadcast:
            break
        }
    }

    /// Applies the "upon" rules until none fires.
    mutating func evaluate(_ actions: inout [Action]) {
        guard started else { return }
        var progressed = true
        while progressed {
            progressed = false
            // Line 49: a quorum of precommits for a value in any round of this height.
            if tryCommit(&actions) {
                progressed = true
                continue
            }
            // Line 55: more than a third of the power is in a higher round.
            let higher = participation.keys.filter { candidate in
                guard candidate > round, let entry = participation[candidate] else { return false }
                return exceedsOneThird(power: entry.power, count: entry.senders.count)
            }
            if let target = higher.max() {
                startRound(target, &actions)
                progressed = true
                continue
            }
            let prevotes = TallyKey(round: round, step: .prevote)
            if step == .propose, let received = proposals[round] {
                let value = received.proposal.blockHash
                let ignoreLock = configuration.faultInjection.ignoreLock
                if let polRound = received.proposal.polRound {
                    // Line 28.
                    if polRound < round, quorum(TallyKey(round: polRound, step: .prevote), for: value), let valid = validity[value] {
                        let lockAllows = ignoreLock || lockedRound.map { $0 <= polRound } ?? true || lockedValue == value
                        cast(.prevote, valid && received.timely && lockAllows ? value : nil, &actions)
                        progressed = true
                        continue
                    }
                } else if let valid = validity[value] {
                    // Line 22.
                    let lockAllows = ignoreLock || lockedRound == nil || lockedValue == value
                    cast(.prevote, valid && received.timely && lockAllows ? value : nil, &actions)
                    progressed = true
                    continue
                }
            }
            // Line 34.
            if step == .prevote, prevoteTimeoutScheduledRound != round, quorumForAnything(prevotes) {
                prevoteTimeoutScheduledRound = round
                schedule(.prevote, &actions)
                progressed = true
            }
            // Line 36.
            if step >= .prevote, validValueUpdatedRound != round, let received = proposals[round],
               validity[received.proposal.blockHash] == true, quorum(prevotes, for: received.proposal.blockHash) {
                let value = received.proposal.blockHash
                validValueUpdatedRound = round
                if step == .prevote {
                    lockedValue = value
                    lockedRound = round
                    cast(.precommit, value, &actions)
                }
                validValue = value
                validRound = round
                progressed = true
                continue
            }
            // Line 44.
            if step == .prevote, quorum(prevotes, for: nil) {
                cast(.precommit, nil, &actions)
                progressed = true
                continue
            }
            // Line 47.
            if precommitTimeoutScheduledRound != round, quorumForAnything(TallyKey(round: round, step: .precommit)) {
                precommitTimeoutScheduledRound = round
                schedule(.precommit, &actions)
                progressed = true
            }
        }
    }

    /// Line 49. Returns true if the machine committed (and moved to the next height).
    mutating func tryCommit(_ actions: inout [Action]) -> Bool {
        let rounds = tallies.keys.filter { $0.step == .precommit }.map(\.round).sorted()
        for precommitRound in rounds {
            let key = TallyKey(round: precommitRound, step: .precommit)
            guard let tally = tallies[key] else { continue }
            let candidates = tally.powerByValue.keys.filter { $0 != .zero && quorum(key, for: $0) }.sorted()
            for value in candidates {
                guard let block = blocks[value] else {
                    if missingBlocksRequested.insert(value).inserted {
                        actions.append(.requestMissingBlock(value))
                    }
                    continue
                }
                guard validity[value] == true else { continue }
                let signatures = tally.votes(for: value)
                    .map { CommitSignature(validator: $0.validator, signature: $0.signature) }
                let certificate = CommitCertificate(height: height, round: precommitRound, blockHash: value, signatures: signatures)
                commit(block, certificate: certificate, &actions)
                return true
            }
        }
        return false
    }

    /// Emits the commit, moves to the next height (line 54) and replays buffered messages.
    mutating func commit(_ block: Block, certificate: CommitCertificate, _ actions: inout [Action]) {
        actions.append(.commit(block, certificate))
        tip = ChainTip(nextHeight: height + 1, parentHash: certificate.blockHash, parentTimestampMilliseconds: block.header.timestamp, lastCommit: certificate)
        height += 1
        enterValidatorSetOfHeight()
        lockedValue = nil
        lockedRound = nil
        validValue = nil
        validRound = nil
        blocks = [:]
        validity = [:]
        validationRequested = []
        missingBlocksRequested = []
        proposals = [:]
        tallies = [:]
        participation = [:]
        futureRounds = [:]
        ownMessages = []
        prevoteTimeoutScheduledRound = nil
        precommitTimeoutScheduledRound = nil
        validValueUpdatedRound = nil
        decisionRequestAllowed = true
        startRound(0, &actions)
        let buffered = futureHeightBuffer
        futureHeightBuffer = []
        for message in buffered {
            switch message {
            case .proposal(let proposal, let localTime): receiveProposal(proposal, localTimeMilliseconds: localTime, own: false, &actions)
            case .vote(let vote): receiveVote(vote, own: false, &actions)
            }
        }
    }
}
