import KizunaCore

/// The simulated node's signing, blocks and byzantine behaviour; the event loop, nodes and checkers are in Simulation.swift.
extension Simulation {
    // MARK: - Signing

    /// The checker's view of a signature a replica released: no honest node signs two different
    /// messages for one (height, round, step), across restarts included.
    mutating func checkSignature(_ message: ConsensusMessage, at index: Int) {
        if case .proposal(let proposal) = message { proposedHashes.insert(proposal.blockHash) }
        guard nodes[index].byzantine == nil else { return }
        let signed = message.unsigned
        let key = SignKey(node: index, height: signed.height, round: signed.round, step: signed.step)
        let digest = Hash.sha256(signed.signingBytes(chainId: Self.chainId))
        if let earlier = signLog[key], earlier != digest {
            violations.append(Violation(kind: .doubleSign, message: "node \(index) signed two different messages at height \(signed.height) round \(signed.round) step \(signed.step)", atMilliseconds: now))
        }
        signLog[key] = digest
    }

    // MARK: - Blocks

    mutating func buildBlock(at index: Int, tip: ChainTip, invalid: Bool) -> Block {
        var payload = (0..<4).flatMap { _ -> [UInt8] in
            let word = random.next()
            return (0..<8).map { UInt8(truncatingIfNeeded: word >> UInt64(8 * $0)) }
        }
        payload[0] = invalid ? 0 : max(payload[0], 1)
        let header = BlockHeader(
            chainId: Self.chainId, height: tip.nextHeight, previousBlockHash: tip.parentHash,
            timestamp: max(localTime(index), tip.parentTimestampMilliseconds + 1),
            transactionsRoot: Hash(payload)!, stateRoot: .zero, proposer: nodes[index].publicKey,
            validatorSetHash: validatorSet.hash, lastCommitHash: tip.lastCommit?.hash ?? .zero)
        return Block(header: header, transactions: [], lastCommit: tip.lastCommit)
    }

    /// The synthetic validity predicate (what `requestValidation` answers).
    func contentsValid(_ block: Block) -> Bool {
        let header = block.header
        guard header.transactionsRoot.bytes[0] != 0, header.stateRoot == .zero,
              header.validatorSetHash == validatorSet.hash, block.transactions.isEmpty,
              header.lastCommitHash == (block.lastCommit?.hash ?? .zero) else { return false }
        if header.height == 1 { return block.lastCommit == nil && header.previousBlockHash == .zero }
        guard let certificate = block.lastCommit, certificate.height == header.height - 1,
              certificate.blockHash == header.previousBlockHash else { return false }
        // The nodes' own check (with a mutated counting rule, the mutated one), so a broken
        // rule shows whether it breaks agreement rather than only stalling.
        return certificateValid(certificate, countVotesByNumber: scenario.faultInjection.countVotesByNumber)
    }

    /// The checker's own certificate check: by power, whatever the nodes were told.
    func certificateValid(_ certificate: CommitCertificate, countVotesByNumber: Bool = false) -> Bool {
        let verifier = SimulatedSignatureScheme()
        let message = voteSigningBytes(chainId: Self.chainId, height: certificate.height, round: certificate.round, step: .precommit, blockHash: certificate.blockHash)
        var power: UInt64 = 0
        var previous: PublicKey?
        for entry in certificate.signatures {
            if let previous, !(previous < entry.validator) { return false }
            previous = entry.validator
            guard let validator = validatorSet.validator(for: entry.validator),
                  verifier.isValidSignature(entry.signature, by: entry.validator, for: message) else { return false }
            power += validator.votingPower
        }
        if countVotesByNumber { return 3 * certificate.signatures.count > 2 * validatorSet.validators.count }
        return validatorSet.isQuorum(power)
    }

    mutating func commit(_ block: Block, certificate: CommitCertificate, at index: Int) {
        guard nodes[index].byzantine == nil else {
            nodes[index].chain.append(CommittedBlock(block: block, certificate: certificate))
            nodes[index].replica?.blockCommitted(height: block.height)
            return
        }
        let hash = certificate.blockHash
        let height = block.height
        // A commit is one synced write: the block, and (for a signer that defers its syncs)
        // everything written so far.
        nodes[index].replica?.modifyJournal { $0.sync() }
        guard height == UInt64(nodes[index].chain.count) + 1 else {
            violations.append(Violation(kind: .validity, message: "node \(index) committed height \(height) on a chain of \(nodes[index].chain.count)", atMilliseconds: now))
            return
        }
        if let parent = nodes[index].chain.last, block.header.previousBlockHash != parent.certificate.blockHash || block.header.timestamp <= parent.block.header.timestamp {
            violations.append(Violation(kind: .validity, message: "node \(index) committed block \(height) that does not extend its chain", atMilliseconds: now))
        }
        if !contentsValid(block) || !certificateValid(certificate) || block.hash != hash
            || (block.lastCommit.map { !certificateValid($0) } ?? false) {
            violations.append(Violation(kind: .validity, message: "node \(index) committed an invalid block or certificate at height \(height)", atMilliseconds: now))
        }
        if !proposedHashes.contains(hash) {
            violations.append(Violation(kind: .validity, message: "node \(index) committed block \(hash) at height \(height) that nobody proposed", atMilliseconds: now))
        }
        if let earlier = decided[height], earlier != hash {
            violations.append(Violation(kind: .agreement, message: "height \(height): node \(index) committed \(hash.hex.prefix(12)), another honest node committed \(earlier.hex.prefix(12))", atMilliseconds: now))
        }
        if decided[height] == nil {
            decided[height] = hash
            decidedRounds[height] = certificate.round
        }
        nodes[index].chain.append(CommittedBlock(block: block, certificate: certificate))
        // The decided height's journal is no longer needed (as in the node, after its commit).
        nodes[index].replica?.blockCommitted(height: height)
        for value in [UInt64(index), height, now] + hash.bytes.prefix(8).map(UInt64.init) {
            traceDigest = (traceDigest ^ value) &* 0x0000_0100_0000_01b3
        }
    }

    // MARK: - Byzantine behaviour

    /// A colluding byzantine proposer splits its peers into two groups and shows each group a
    /// different block (sometimes an invalid one), so that each group can form a polka.
    mutating func tailorProposals(height: UInt64, round: UInt32, proposer: Int, tip: ChainTip, own: Block) {
        let peers = nodes.indices.filter { $0 != proposer }
        var groups = peers.map { _ in Int(random.below(2)) }
        if Set(groups).count == 1, groups.count > 1 { groups[Int(random.below(UInt64(groups.count)))] ^= 1 }
        let blocks = [own, buildBlock(at: proposer, tip: tip, invalid: random.chance(perMille: 100))]
        var shown: [Int: Block] = [:]
        for (peer, group) in zip(peers, groups) { shown[peer] = blocks[group] }
        tailoredBlocks[SignKey(node: 0, height: height, round: round, step: .proposal)] = shown
    }

    mutating func broadcast(_ message: ConsensusMessage, from index: Int) {
        guard nodes[index].byzantine == .equivocate else {
            for peer in nodes.indices where peer != index { send(.consensus(message), from: index, to: peer) }
            return
        }
        let key = SimulatedConsensusKey(publicKey: nodes[index].publicKey)
        let shown = tailoredBlocks[SignKey(node: 0, height: message.height, round: message.round, step: .proposal)]
        for peer in nodes.indices where peer != index {
            var tailored = message
            switch message {
            case .proposal(let proposal):
                if let block = shown?[peer], proposal.polRound == nil {
                    let unsigned = UnsignedProposal(height: proposal.height, round: proposal.round, polRound: nil, block: block, proposer: proposal.proposer)
                    proposedHashes.insert(unsigned.blockHash)
                    tailored = .proposal(Proposal(unsigned, signature: key.sign(unsigned.signingBytes(chainId: Self.chainId))))
                }
            case .vote(let vote):
                // The adversary sees everything: it votes for whatever block this peer was
                // shown (by a colluding proposer, or the proposal the peer holds), and sometimes
                // withholds its precommit from a peer altogether.
                if vote.step == .precommit, random.chance(perMille: 400) { continue }
                var value = vote.blockHash
                if let block = shown?[peer] {
                    value = block.hash
                } else if let machine = nodes[peer].machine, machine.height == vote.height, let held = machine.proposal(round: vote.round) {
                    value = held.blockHash
                } else if random.chance(perMille: 300) {
                    value = nil
                }
                if value != vote.blockHash {
                    let unsigned = UnsignedVote(step: vote.step, height: vote.height, round: vote.round, blockHash: value, validator: vote.validator)
                    tailored = .vote(Vote(unsigned, signature: key.sign(unsigned.signingBytes(chainId: Self.chainId))))
                }
                // Sometimes send the conflicting vote as well, so peers see the equivocation.
                if tailored != message, random.chance(perMille: 300) {
                    send(.consensus(message), from: index, to: peer)
                }
            }
            send(.consensus(tailored), from: index, to: peer)
        }
    }
}
