import FuzzSupport
import KizunaCore

// Fuzzes `Block` and `BlockHeader` decoding (Block.swift), as a peer's block or a chain file
// is read. Properties: what decodes re-encodes to the same bytes; a decoding error points
// inside the input; the hash, the transactions root and every transaction id can be computed.

func fuzzBlock(_ bytes: [UInt8]) {
    do throws(DecodingError) {
        let block = try Block(canonicalBytes: bytes)
        fuzzCheckRoundTrip(block, from: bytes, "Block")
        fuzzCheckRoundTrip(block.header, from: block.header.canonicalBytes, "BlockHeader")
        fuzzCheck(block.transactions.count <= BlockLimits.transactionsMax, "more transactions than the limit")
        fuzzCheck(block.hash == block.header.hash, "the block hash is not the header hash")
        _ = Block.transactionsRoot(block.transactions.map(\.id))
        if let certificate = block.lastCommit {
            fuzzCheck(certificate.signatures.count <= BlockLimits.validatorsMax, "more signatures than the limit")
            _ = certificate.hash
        }
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "Block")
    }
    do throws(DecodingError) {
        let header = try BlockHeader(canonicalBytes: bytes)
        fuzzCheckRoundTrip(header, from: bytes, "BlockHeader")
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "BlockHeader")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzBlock(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzBlock_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
