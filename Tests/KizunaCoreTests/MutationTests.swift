import Foundation
import KizunaCore
import Testing

/// Must-be-true #4: every vector round-trips; mutated vectors (a flipped bit, a truncated or
/// extended buffer, a bad signature, a wrong chain id) are rejected with distinct error codes.
@Suite("Mutated encodings are rejected")
struct MutationTests {
    static var signedVectors: [(name: String, signed: SignedTransaction)] {
        VectorGenerator.namedTransactions.map { ($0.name, $0.signed) }
    }

    /// What happened to a mutated envelope.
    enum Outcome: Equatable {
        case decodeError(DecodingError.Code)
        case verifyError(TransactionError.Code)
        case accepted
    }

    static func outcome(_ bytes: [UInt8], chainId: String = Fixtures.chainId) -> Outcome {
        let signed: SignedTransaction
        do throws(DecodingError) {
            signed = try SignedTransaction(untrusted: bytes)
        } catch {
            return .decodeError(error.code)
        }
        do throws(TransactionError) {
            _ = try signed.verified(chainId: chainId)
            return .accepted
        } catch {
            return .verifyError(error.code)
        }
    }

    /// A bit flip either breaks the encoding or yields a different transaction whose
    /// signatures do not verify; it never yields an accepted transaction.
    static func checkFlip(_ original: SignedTransaction, bytes: [UInt8], bit: Int) {
        var mutated = bytes
        mutated[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
        switch outcome(mutated) {
        case .accepted:
            Issue.record("flipping bit \(bit) gave a transaction that verifies")
        case .decodeError:
            break
        case .verifyError(let code):
            #expect(code == .badSignature || code == .wrongChain, "bit \(bit): \(code)")
            // It decoded: to something different, and it fails on its signature even on
            // the chain it names.
            let decoded = try! SignedTransaction(untrusted: mutated)
            #expect(decoded != original)
            #expect(transactionErrorCode { () throws(TransactionError) in _ = try decoded.verified(chainId: decoded.transaction.chainId) } == .badSignature, "bit \(bit)")
        }
    }

    @Test("every valid vector round-trips and verifies")
    func roundTrip() throws {
        for (name, signed) in MutationTests.signedVectors {
            let bytes = signed.canonicalBytes
            let decoded = try SignedTransaction(untrusted: bytes)
            #expect(decoded == signed, "\(name)")
            #expect(decoded.canonicalBytes == bytes)
            #expect(MutationTests.outcome(bytes) == .accepted)
        }
    }

    @Test("flipping any single bit of the send vector never gives an accepted transaction")
    func everyBitOfSend() {
        let signed = VectorGenerator.signedTransaction("send")
        let bytes = signed.canonicalBytes
        for bit in 0..<bytes.count * 8 {
            MutationTests.checkFlip(signed, bytes: bytes, bit: bit)
        }
    }

    @Test("flipping a seeded sample of bits of every vector never gives an accepted transaction")
    func sampledBits() {
        var generator = SplitMix64(seed: 0x4B49_5A55_4E41)
        for (_, signed) in MutationTests.signedVectors {
            let bytes = signed.canonicalBytes
            for _ in 0..<48 {
                MutationTests.checkFlip(signed, bytes: bytes, bit: Int.random(in: 0..<bytes.count * 8, using: &generator))
            }
        }
    }

    @Test("truncation at every length is decode.truncated")
    func truncation() {
        // Every length for two vectors (one with co-signatures); a stride for the others, to
        // keep the key checks of a debug build within a few seconds.
        for (name, signed) in MutationTests.signedVectors {
            let bytes = signed.canonicalBytes
            let step = (name == "send" || name == "register-cosigned") ? 1 : 5
            for length in stride(from: 0, to: bytes.count, by: step) {
                #expect(MutationTests.outcome(Array(bytes.prefix(length))) == .decodeError(.truncated), "\(name) cut to \(length)")
            }
            #expect(MutationTests.outcome(Array(bytes.dropLast())) == .decodeError(.truncated), "\(name)")
        }
        // Also for blocks, headers and certificates.
        for bytes in [VectorGenerator.block2.canonicalBytes, VectorGenerator.header1.canonicalBytes, VectorGenerator.certificate1.canonicalBytes] {
            for length in stride(from: 0, to: bytes.count, by: 7) {
                let prefix = Array(bytes.prefix(length))
                let codes = [
                    decodingErrorCode { () throws(DecodingError) in _ = try Block(canonicalBytes: prefix) },
                    decodingErrorCode { () throws(DecodingError) in _ = try BlockHeader(canonicalBytes: prefix) },
                    decodingErrorCode { () throws(DecodingError) in _ = try CommitCertificate(canonicalBytes: prefix) },
                ]
                #expect(codes.allSatisfy { $0 != nil })
            }
        }
        #expect(decodingErrorCode { () throws(DecodingError) in
            _ = try Block(canonicalBytes: Array(VectorGenerator.block2.canonicalBytes.dropLast()))
        } == .truncated)
    }

    @Test("one extra byte of any value is decode.trailing_bytes")
    func extendedByOneByte() {
        for (name, signed) in MutationTests.signedVectors {
            for extra: UInt8 in [0, 1, 0xff] {
                #expect(MutationTests.outcome(signed.canonicalBytes + [extra]) == .decodeError(.trailingBytes), "\(name)")
            }
        }
        let extended: [[UInt8]] = [VectorGenerator.block1.canonicalBytes + [0], VectorGenerator.header2.canonicalBytes + [0], VectorGenerator.certificate2.canonicalBytes + [0]]
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try Block(canonicalBytes: extended[0]) } == .trailingBytes)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try BlockHeader(canonicalBytes: extended[1]) } == .trailingBytes)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try CommitCertificate(canonicalBytes: extended[2]) } == .trailingBytes)
    }

    @Test("a bad signature, a bad co-signature and a wrong chain id are rejected on verification")
    func signaturesAndChain() {
        for (name, signed) in MutationTests.signedVectors {
            var bad = signed
            var signature = bad.signature.bytes
            signature[63] ^= 0x40
            bad.signature = Signature(signature)!
            #expect(MutationTests.outcome(bad.canonicalBytes) == .verifyError(.badSignature), "\(name)")
            #expect(MutationTests.outcome(signed.canonicalBytes, chainId: "local-kizuna-2") == .verifyError(.wrongChain), "\(name)")
            if !signed.cosignatures.isEmpty {
                var badCosignature = signed
                var raw = badCosignature.cosignatures[1].signature.bytes
                raw[0] ^= 1
                badCosignature.cosignatures[1].signature = Signature(raw)!
                #expect(MutationTests.outcome(badCosignature.canonicalBytes) == .verifyError(.badSignature), "\(name)")
                // A co-signature moved to another transaction does not verify either.
                var other = signed.transaction
                other.nonce += 1
                let moved = SignedTransaction(transaction: other, signature: other.signed(by: VectorGenerator.key("registrar")).signature, cosignatures: signed.cosignatures)
                #expect(MutationTests.outcome(moved.canonicalBytes) == .verifyError(.badSignature))
            }
        }
    }

    @Test("the four kinds of mutation are told apart by distinct codes")
    func distinctCodes() {
        let signed = VectorGenerator.signedTransaction("charge-app")
        let bytes = signed.canonicalBytes
        var badSignature = bytes
        badSignature[bytes.count - 10] ^= 1
        let outcomes = [
            MutationTests.outcome(Array(bytes.dropLast())),
            MutationTests.outcome(bytes + [0]),
            MutationTests.outcome(badSignature),
            MutationTests.outcome(bytes, chainId: "other-chain"),
        ]
        #expect(outcomes == [.decodeError(.truncated), .decodeError(.trailingBytes), .verifyError(.badSignature), .verifyError(.wrongChain)])
        let codes: Set<String> = [
            DecodingError.Code.truncated.rawValue, DecodingError.Code.trailingBytes.rawValue,
            TransactionError.Code.badSignature.rawValue, TransactionError.Code.wrongChain.rawValue,
        ]
        #expect(codes.count == 4)
        #expect(Set(DecodingError.Code.allCases.map(\.rawValue)).count == DecodingError.Code.allCases.count)
    }
}
