import Foundation
import FuzzSupport
import KizunaCore

// Fuzzes a signed transaction as `POST /v1/transactions` receives it: the body is either the
// canonical bytes (`application/octet-stream`) or JSON `{"transaction": "<hex>"}`; an input
// starting with `{` takes the JSON path (canonical bytes never start with 0x7b: that would
// be a chain id longer than 64 bytes). Then `SignedTransaction(untrusted:)`, and, as the API
// does next, `verified(chainId:)`.
// Properties: what decodes re-encodes to the same bytes (and its inner `Transaction` too);
// a decoding error points inside the input; verification never crashes.

struct Envelope: Decodable {
    var transaction: String
}

func fuzzTransaction(_ input: [UInt8]) {
    let bytes: [UInt8]
    if input.first == UInt8(ascii: "{") {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(input)),
              let hex = [UInt8](hex: envelope.transaction) else { return }
        bytes = hex
    } else {
        bytes = input
    }
    let signed: SignedTransaction
    do throws(DecodingError) {
        signed = try SignedTransaction(untrusted: bytes)
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "SignedTransaction")
        return
    }
    fuzzCheck(bytes.count <= TransactionLimits.transactionBytesMax, "an oversize transaction decoded")
    fuzzCheckRoundTrip(signed, from: bytes, "SignedTransaction")
    fuzzCheckRoundTrip(signed.transaction, from: signed.transaction.canonicalBytes, "Transaction")
    fuzzCheck(signed.id == Hash.sha256(signed.transaction.signingBytes), "the id is not the hash of the signing bytes")
    if let verified = try? signed.verified(chainId: LocalChain.chainId) {
        fuzzCheck(verified.signers.count == 1 + signed.cosignatures.count, "a verified transaction lost a signer")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTransaction(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzTransaction_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
