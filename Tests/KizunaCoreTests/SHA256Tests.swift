import Crypto
import Foundation
import Testing
import KizunaCore

/// Kizuna's SHA-256 comes from the system's libcrypto (ADR 0026); it must agree with
/// swift-crypto's on every input — empty, across block boundaries, in parts — and with the
/// published test vectors, and each domain's tag must be its name and a zero byte.
@Suite struct SHA256Tests {
    @Test func publishedVectors() {
        #expect(Hash.sha256([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hash.sha256(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hash.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func agreesWithSwiftCryptoOnEveryLength() {
        var state: UInt64 = 0x5348_4132_3536
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for length in 0...300 {
            let data = (0..<length).map { _ in next() }
            let reference = Hash(SHA256.hash(data: data).withUnsafeBytes { Array($0) })!
            #expect(Hash.sha256(data) == reference, "length \(length)")
            // In parts, with each domain's tag first.
            let split = length / 3
            for domain in [HashDomain.transaction, .stateNode, .governance] {
                var hasher = SHA256()
                hasher.update(data: Array(domain.rawValue.utf8) + [0])
                hasher.update(data: data)
                let expected = Hash(hasher.finalize().withUnsafeBytes { Array($0) })!
                #expect(Hash.tagged(domain, Array(data[..<split]), Array(data[split...])) == expected, "\(domain), length \(length)")
            }
        }
        let left = Hash.sha256([1]), right = Hash.sha256([2])
        #expect(Hash.tagged(.stateNode, left, right) == Hash.tagged(.stateNode, left.bytes, right.bytes))
    }

    @Test func everyDomainsTagIsItsNameAndAZeroByte() {
        for domain in HashDomain.allCases {
            #expect(domain.prefix == Array(domain.rawValue.utf8) + [0], "\(domain)")
        }
    }
}
