public import KizunaCore

/// Domain tags for what consensus signs that KizunaCore's `HashDomain` does not name yet.
public enum ConsensusDomain {
    /// Prefix of a proposal's signing bytes: `"KIZUNA/PROPOSAL/V1"` and a zero byte.
    public static let proposal: [UInt8] = Array("KIZUNA/PROPOSAL/V1".utf8) + [0]
    /// Prefix of the signer's safety record file.
    public static let signerRecord: [UInt8] = Array("KIZUNA/SIGNER/V1".utf8) + [0]
}

/// Limits on consensus messages, unit last.
public enum ConsensusLimits {
    /// The largest encoded consensus message a node accepts (checked before decoding).
    public static let messageBytesMax = BlockLimits.blockBytesMax + 1024
}

/// The bytes a proposer signs: domain tag, chain id, height, round, polRound (absent for the
/// paper's −1) and the hash of the proposed block.
public func proposalSigningBytes(chainId: String, height: UInt64, round: UInt32, polRound: UInt32?, blockHash: Hash) -> [UInt8] {
    var encoder = Encoder()
    encoder.encodeFixed(ConsensusDomain.proposal)
    encoder.encode(chainId, height, round, polRound, blockHash)
    return encoder.bytes
}

/// A prevote or precommit that has not been signed yet.
public struct UnsignedVote: Sendable, Hashable {
    public var step: VoteStep
    public var height: UInt64
    public var round: UInt32
    /// nil is the paper's "vote for nil"; it signs `Hash.zero`.
    public var blockHash: Hash?
    public var validator: PublicKey

    public init(step: VoteStep, height: UInt64, round: UInt32, blockHash: Hash?, validator: PublicKey) {
        precondition(step != .proposal, "a vote is a prevote or a precommit")
        self.step = step
        self.height = height
        self.round = round
        self.blockHash = blockHash
        self.validator = validator
    }

    public func signingBytes(chainId: String) -> [UInt8] {
        voteSigningBytes(chainId: chainId, height: height, round: round, step: step, blockHash: blockHash ?? .zero)
    }
}

/// A signed prevote or precommit.
public struct Vote: Sendable, Hashable, CanonicalCodable, CustomStringConvertible {
    public var unsigned: UnsignedVote
    public var signature: Signature

    public init(_ unsigned: UnsignedVote, signature: Signature) {
        self.unsigned = unsigned
        self.signature = signature
    }

    public var step: VoteStep { unsigned.step }
    public var height: UInt64 { unsigned.height }
    public var round: UInt32 { unsigned.round }
    public var blockHash: Hash? { unsigned.blockHash }
    public var validator: PublicKey { unsigned.validator }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(unsigned.step, unsigned.height, unsigned.round, unsigned.blockHash, unsigned.validator, signature)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        let step = try decoder.decode(VoteStep.self)
        guard step != .proposal else { throw DecodingError(.invalidTag, "a vote's step is prevote or precommit", offset: start) }
        let height = try decoder.decodeUInt64()
        let round = try decoder.decodeUInt32()
        let blockHash = try decoder.decodeOptionalHash()
        let validator = try decoder.decode(PublicKey.self)
        signature = try decoder.decode(Signature.self)
        unsigned = UnsignedVote(step: step, height: height, round: round, blockHash: blockHash, validator: validator)
    }

    public var description: String {
        "\(step == .prevote ? "prevote" : "precommit")(h\(height) r\(round) \(blockHash.map { String($0.hex.prefix(8)) } ?? "nil") by \(validator.bytes.prefix(3).hexString))"
    }
}

/// A proposal that has not been signed yet.
public struct UnsignedProposal: Sendable, Hashable {
    public var height: UInt64
    public var round: UInt32
    /// The round of the polka that justifies re-proposing this block; nil is the paper's −1.
    public var polRound: UInt32?
    public var block: Block
    public var proposer: PublicKey
    /// `block.hash`, computed once here (never read from the wire).
    public let blockHash: Hash

    public init(height: UInt64, round: UInt32, polRound: UInt32?, block: Block, proposer: PublicKey) {
        self.height = height
        self.round = round
        self.polRound = polRound
        self.block = block
        self.proposer = proposer
        self.blockHash = block.hash
    }

    public func signingBytes(chainId: String) -> [UInt8] {
        proposalSigningBytes(chainId: chainId, height: height, round: round, polRound: polRound, blockHash: blockHash)
    }
}

/// A signed proposal.
public struct Proposal: Sendable, Hashable, CanonicalCodable {
    public var unsigned: UnsignedProposal
    public var signature: Signature

    public init(_ unsigned: UnsignedProposal, signature: Signature) {
        self.unsigned = unsigned
        self.signature = signature
    }

    public var height: UInt64 { unsigned.height }
    public var round: UInt32 { unsigned.round }
    public var polRound: UInt32? { unsigned.polRound }
    public var block: Block { unsigned.block }
    public var blockHash: Hash { unsigned.blockHash }
    public var proposer: PublicKey { unsigned.proposer }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(unsigned.height, unsigned.round, unsigned.polRound, unsigned.proposer, signature, unsigned.block)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let height = try decoder.decodeUInt64()
        let round = try decoder.decodeUInt32()
        let polRound: UInt32? = try decoder.decodeOptional(UInt32.self)
        let proposer = try decoder.decode(PublicKey.self)
        signature = try decoder.decode(Signature.self)
        let block = try decoder.decode(Block.self)
        unsigned = UnsignedProposal(height: height, round: round, polRound: polRound, block: block, proposer: proposer)
    }
}

/// What a node sends to its peers.
public enum ConsensusMessage: Sendable, Hashable, CanonicalCodable {
    case proposal(Proposal)
    case vote(Vote)

    /// What was signed: the message without its signature.
    public var unsigned: SigningRequest {
        switch self {
        case .proposal(let proposal): .proposal(proposal.unsigned)
        case .vote(let vote): .vote(vote.unsigned)
        }
    }

    public var height: UInt64 { unsigned.height }
    public var round: UInt32 { unsigned.round }
    public var step: VoteStep { unsigned.step }

    public var sender: PublicKey {
        switch self {
        case .proposal(let proposal): proposal.proposer
        case .vote(let vote): vote.validator
        }
    }

    public func encode(to encoder: inout Encoder) {
        switch self {
        case .proposal(let proposal):
            encoder.encode(UInt8(1))
            encoder.encode(proposal)
        case .vote(let vote):
            encoder.encode(UInt8(2))
            encoder.encode(vote)
        }
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        let start = decoder.offset
        switch try decoder.decodeUInt8() {
        case 1: self = .proposal(try decoder.decode(Proposal.self))
        case 2: self = .vote(try decoder.decode(Vote.self))
        case let other: throw DecodingError(.invalidTag, "unknown consensus message tag \(other)", offset: start)
        }
    }

    /// Decodes a message received from a peer, refusing oversized input before decoding.
    public static func decodeFromPeer(_ bytes: [UInt8]) throws(DecodingError) -> ConsensusMessage {
        guard bytes.count <= ConsensusLimits.messageBytesMax else {
            throw DecodingError(.lengthTooLarge, "consensus message of \(bytes.count) bytes exceeds \(ConsensusLimits.messageBytesMax)", offset: 0)
        }
        return try ConsensusMessage(canonicalBytes: bytes)
    }
}

/// What the state machine asks the signer to sign.
public enum SigningRequest: Sendable, Hashable {
    case proposal(UnsignedProposal)
    case vote(UnsignedVote)

    public var height: UInt64 {
        switch self {
        case .proposal(let proposal): proposal.height
        case .vote(let vote): vote.height
        }
    }

    public var round: UInt32 {
        switch self {
        case .proposal(let proposal): proposal.round
        case .vote(let vote): vote.round
        }
    }

    public var step: VoteStep {
        switch self {
        case .proposal: .proposal
        case .vote(let vote): vote.step
        }
    }

    public func signingBytes(chainId: String) -> [UInt8] {
        switch self {
        case .proposal(let proposal): proposal.signingBytes(chainId: chainId)
        case .vote(let vote): vote.signingBytes(chainId: chainId)
        }
    }

    /// The signed message, given the signature over `signingBytes`.
    public func signed(_ signature: Signature) -> ConsensusMessage {
        switch self {
        case .proposal(let proposal): .proposal(Proposal(proposal, signature: signature))
        case .vote(let vote): .vote(Vote(vote, signature: signature))
        }
    }
}

/// Two conflicting messages signed by one validator: proof it is byzantine.
public enum Evidence: Sendable, Hashable {
    /// Two different votes for one (height, round, step).
    case duplicateVote(Vote, Vote)
    /// Two different proposals for one (height, round).
    case duplicateProposal(Proposal, Proposal)

    public var validator: PublicKey {
        switch self {
        case .duplicateVote(let first, _): first.validator
        case .duplicateProposal(let first, _): first.proposer
        }
    }
}
