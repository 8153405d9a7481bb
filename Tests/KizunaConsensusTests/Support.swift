import KizunaConsensus
import KizunaCore

/// Four (or more) validators with real Ed25519 keys and helpers to build signed messages.
struct Fixture {
    static let chainId = "test-chain"
    static let genesisTime: UInt64 = 1_700_000_000_000

    let keys: [PrivateKey]
    let set: ValidatorSet
    var configuration: ConsensusConfiguration

    init(powers: [UInt64] = [1, 1, 1, 1]) {
        keys = powers.indices.map { PrivateKey(seed: [UInt8](repeating: UInt8($0 + 11), count: 32))! }
        set = ValidatorSet(zip(keys, powers).enumerated().map { index, pair in
            Validator(name: "v\(index)", organisation: "test", publicKey: pair.0.publicKey, votingPower: pair.1)
        })
        configuration = ConsensusConfiguration(chainId: Self.chainId)
    }

    var tip: ChainTip { .genesis(timestampMilliseconds: Self.genesisTime) }

    /// The private key of the validator with public key `key`.
    func privateKey(_ key: PublicKey) -> PrivateKey { keys.first { $0.publicKey == key }! }

    func proposer(height: UInt64 = 1, round: UInt32) -> PrivateKey {
        privateKey(ProposerSchedule(set).proposer(height: height, round: round).publicKey)
    }

    /// A validator that does not propose in `round` at height 1.
    func nonProposer(round: UInt32 = 0) -> PrivateKey {
        let proposer = ProposerSchedule(set).proposer(height: 1, round: round).publicKey
        return keys.first { $0.publicKey != proposer }!
    }

    func machine(_ key: PrivateKey, tip: ChainTip? = nil, startRound: UInt32 = 0) -> ConsensusStateMachine {
        ConsensusStateMachine(configuration: configuration, validators: set, ownKey: key.publicKey, verifier: Ed25519Verifier(), tip: tip ?? self.tip, startRound: startRound)
    }

    func block(height: UInt64 = 1, proposer: PrivateKey, timestamp: UInt64 = Fixture.genesisTime + 1000, payload: UInt8 = 1, parent: Hash = .zero, lastCommit: CommitCertificate? = nil) -> Block {
        let header = BlockHeader(chainId: Self.chainId, height: height, previousBlockHash: parent, timestamp: timestamp,
                                 transactionsRoot: Hash([UInt8](repeating: payload, count: 32))!, stateRoot: .zero,
                                 proposer: proposer.publicKey, validatorSetHash: set.hash, lastCommitHash: lastCommit?.hash ?? .zero)
        return Block(header: header, transactions: [], lastCommit: lastCommit)
    }

    func proposal(_ block: Block, round: UInt32 = 0, polRound: UInt32? = nil, by key: PrivateKey, height: UInt64 = 1) -> Proposal {
        let unsigned = UnsignedProposal(height: height, round: round, polRound: polRound, block: block, proposer: key.publicKey)
        return Proposal(unsigned, signature: key.sign(unsigned.signingBytes(chainId: Self.chainId)))
    }

    func vote(_ step: VoteStep, _ hash: Hash?, round: UInt32 = 0, height: UInt64 = 1, by key: PrivateKey) -> Vote {
        let unsigned = UnsignedVote(step: step, height: height, round: round, blockHash: hash, validator: key.publicKey)
        return Vote(unsigned, signature: key.sign(unsigned.signingBytes(chainId: Self.chainId)))
    }

    /// Signs what the machine asked for (the node's job), without a safety record.
    func sign(_ request: SigningRequest, with key: PrivateKey) -> ConsensusMessage {
        request.signed(key.sign(request.signingBytes(chainId: Self.chainId)))
    }

    func others(than key: PrivateKey) -> [PrivateKey] { keys.filter { $0.publicKey != key.publicKey } }
}

extension Array where Element == ConsensusStateMachine.Action {
    /// The single signing request among the actions.
    var signingRequest: SigningRequest? {
        for action in self { if case .signAndPersist(let request) = action { return request } }
        return nil
    }
}
