import FuzzSupport
import KizunaConsensus
import KizunaCore
import KizunaNetwork

// Fuzzes `PeerMessage(frame:)` (KizunaNode/PeerMessage.swift): what an authenticated peer sends
// after the handshake — consensus messages, gossiped transactions, status, block-sync requests
// and answers. Byte 0 is the frame's kind byte (16–22 are assigned), the rest its payload.
// Properties: what decodes re-encodes to the same frame; the list limits hold; the hashes and
// ids of what decoded can be computed.

func fuzzPeerMessage(_ input: [UInt8]) {
    guard let kind = input.first else { return }
    let frame = Frame(kind: FrameKind(rawValue: kind), payload: Array(input.dropFirst()))
    let message: PeerMessage
    do throws(DecodingError) {
        message = try PeerMessage(frame: frame)
    } catch {
        fuzzCheckError(error, inputCount: frame.payload.count, "PeerMessage")
        return
    }
    fuzzCheck(message.frame == frame, "the peer message re-encodes to another frame")
    fuzzCheck((try? PeerMessage(frame: message.frame)) == message, "the peer message does not decode back to itself")
    switch message {
    case .consensus(let consensus):
        _ = (consensus.height, consensus.round, consensus.sender)
    case .transactions(let transactions):
        fuzzCheck(transactions.count <= PeerMessage.transactionsPerFrameMax, "more transactions than the limit")
        _ = transactions.map(\.id)
    case .blocks(let blocks):
        fuzzCheck(blocks.count <= PeerMessage.blocksPerFrameMax, "more blocks than the limit")
        for certified in blocks {
            _ = (certified.block.hash, certified.certificate.hash)
        }
    case .block(let block):
        _ = Block.transactionsRoot(block.transactions.map(\.id))
    case .status, .blocksRequest, .blockRequest:
        break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzPeerMessage(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzPeerMessage_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
