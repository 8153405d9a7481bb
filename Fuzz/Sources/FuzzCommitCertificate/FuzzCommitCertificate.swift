import FuzzSupport
import KizunaCore

// Fuzzes `CommitCertificate` decoding (Block.swift) and its verification against the local
// development validator set, as a block's last commit or a synced certificate is checked.
// Properties: what decodes re-encodes to the same bytes; signatures are sorted without
// duplicates; verification never crashes, and succeeds only with more than 2/3 of the power.

func fuzzCommitCertificate(_ bytes: [UInt8]) {
    let certificate: CommitCertificate
    do throws(DecodingError) {
        certificate = try CommitCertificate(canonicalBytes: bytes)
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "CommitCertificate")
        return
    }
    fuzzCheckRoundTrip(certificate, from: bytes, "CommitCertificate")
    fuzzCheck(zip(certificate.signatures, certificate.signatures.dropFirst()).allSatisfy { $0.validator < $1.validator }, "signatures are not sorted and unique")
    _ = certificate.hash
    let validators = LocalChain.validators
    if (try? certificate.verify(chainId: LocalChain.chainId, height: certificate.height, blockHash: certificate.blockHash, validators: validators)) != nil {
        let power = certificate.signatures.compactMap { validators.validator(for: $0.validator)?.votingPower }.reduce(0, +)
        fuzzCheck(validators.isQuorum(power), "a certificate without a quorum verified")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzCommitCertificate(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzCommitCertificate_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
