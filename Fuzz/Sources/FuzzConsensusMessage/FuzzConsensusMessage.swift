import FuzzSupport
import KizunaConsensus
import KizunaCore

// Fuzzes `ConsensusMessage.decodeFromPeer` (KizunaConsensus/Messages.swift): proposals
// (carrying a whole block) and votes as they arrive from a peer. Properties: what decodes
// re-encodes to the same bytes; a vote's step is prevote or precommit; the signing bytes and
// the signature check of what decoded never crash.

func fuzzConsensusMessage(_ bytes: [UInt8]) {
    let message: ConsensusMessage
    do throws(DecodingError) {
        message = try ConsensusMessage.decodeFromPeer(bytes)
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "ConsensusMessage")
        return
    }
    fuzzCheck(bytes.count <= ConsensusLimits.messageBytesMax, "an oversize message decoded")
    fuzzCheckRoundTrip(message, from: bytes, "ConsensusMessage")
    switch message {
    case .proposal(let proposal):
        fuzzCheck(proposal.blockHash == proposal.block.hash, "the proposal's block hash is not its block's")
        _ = proposal.proposer.isValidSignature(proposal.signature, for: proposal.unsigned.signingBytes(chainId: LocalChain.chainId))
        _ = Block.transactionsRoot(proposal.block.transactions.map(\.id))
    case .vote(let vote):
        fuzzCheck(vote.step != .proposal, "a vote with the proposal step decoded")
        _ = vote.validator.isValidSignature(vote.signature, for: vote.unsigned.signingBytes(chainId: LocalChain.chainId))
        _ = vote.description
    }
    _ = (message.height, message.round, message.sender)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzConsensusMessage(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzConsensusMessage_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
