public import KizunaCore
public import KizunaConsensus

/// A block with the certificate that says it was committed, as block sync carries it: neither
/// is verified yet (the receiving engine checks the certificate, then validates the block).
public struct UnverifiedCertifiedBlock: Sendable, Hashable, CanonicalCodable {
    public var block: Block
    public var certificate: CommitCertificate

    public init(block: Block, certificate: CommitCertificate) {
        self.block = block
        self.certificate = certificate
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(block, certificate) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        block = try decoder.decode(Block.self)
        certificate = try decoder.decode(CommitCertificate.self)
    }
}

/// What validators and observers say to each other once a connection is authenticated.
/// Each message is one frame; its kind (16–22) says which, and the payload is its canonical
/// encoding, decoded strictly (`docs/network.md` §3). A payload that does not decode closes
/// the connection.
public enum PeerMessage: Sendable, Hashable {
    /// A signed proposal or vote.
    case consensus(ConsensusMessage)
    /// Transactions admitted to the sender's mempool (gossip), at most `transactionsPerFrameMax`.
    case transactions([SignedTransaction])
    /// The sender's committed height and tip hash, sent on connect and every second.
    case status(height: UInt64, tipHash: Hash)
    /// Block sync: "send me committed blocks from this height on".
    case blocksRequest(fromHeight: UInt64)
    /// Block sync: consecutive committed blocks with their certificates, ascending.
    case blocks([UnverifiedCertifiedBlock])
    /// The block of a proposal the sender saw precommitted but does not hold.
    case blockRequest(hash: Hash)
    case block(Block)

    public static let transactionsPerFrameMax = 4096
    public static let blocksPerFrameMax = 256

    public var kind: FrameKind {
        switch self {
        case .consensus: FrameKind(rawValue: 16)
        case .transactions: FrameKind(rawValue: 17)
        case .status: FrameKind(rawValue: 18)
        case .blocksRequest: FrameKind(rawValue: 19)
        case .blocks: FrameKind(rawValue: 20)
        case .blockRequest: FrameKind(rawValue: 21)
        case .block: FrameKind(rawValue: 22)
        }
    }

    public var frame: Frame {
        var encoder = Encoder()
        switch self {
        case .consensus(let message): encoder.encode(message)
        case .transactions(let transactions): encoder.encode(transactions)
        case .status(let height, let tipHash):
            encoder.encode(height)
            encoder.encode(tipHash)
        case .blocksRequest(let height): encoder.encode(height)
        case .blocks(let blocks): encoder.encode(blocks)
        case .blockRequest(let hash): encoder.encode(hash)
        case .block(let block): encoder.encode(block)
        }
        return Frame(kind: kind, payload: encoder.bytes)
    }

    /// Decodes a frame from a peer strictly: unknown kind, bad encoding or trailing bytes throw.
    public init(frame: Frame) throws(DecodingError) {
        var decoder = Decoder(frame.payload)
        switch frame.kind.rawValue {
        case 16: self = .consensus(try decoder.decode(ConsensusMessage.self))
        case 17: self = .transactions(try decoder.decodeList(SignedTransaction.self, maxCount: Self.transactionsPerFrameMax))
        case 18: self = .status(height: try decoder.decodeUInt64(), tipHash: try decoder.decodeHash())
        case 19: self = .blocksRequest(fromHeight: try decoder.decodeUInt64())
        case 20: self = .blocks(try decoder.decodeList(UnverifiedCertifiedBlock.self, maxCount: Self.blocksPerFrameMax))
        case 21: self = .blockRequest(hash: try decoder.decodeHash())
        case 22: self = .block(try decoder.decode(Block.self))
        default: throw DecodingError(.invalidTag, "unknown peer message \(frame.kind)", offset: 0)
        }
        try decoder.finish()
    }
}
