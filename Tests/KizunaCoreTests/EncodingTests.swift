import Foundation
import KizunaCore
import Testing

@Suite("Canonical encoding primitives")
struct EncodingTests {
    @Test func integersAreBigEndianFixedWidth() throws {
        var encoder = Encoder()
        encoder.encode(UInt8(0xab))
        encoder.encode(UInt16(0x0102))
        encoder.encode(UInt32(0x0304_0506))
        encoder.encode(UInt64(0x0708_090a_0b0c_0d0e))
        encoder.encode(true)
        encoder.encode(false)
        #expect(encoder.bytes.hexString == "ab" + "0102" + "03040506" + "0708090a0b0c0d0e" + "01" + "00")
        var decoder = Decoder(encoder.bytes)
        #expect(try decoder.decodeUInt8() == 0xab)
        #expect(try decoder.decodeUInt16() == 0x0102)
        #expect(try decoder.decodeUInt32() == 0x0304_0506)
        #expect(try decoder.decodeUInt64() == 0x0708_090a_0b0c_0d0e)
        #expect(try decoder.decodeBool() == true)
        #expect(try decoder.decodeBool() == false)
        try decoder.finish()

        var extremes = Encoder()
        extremes.encode(UInt64.max)
        extremes.encode(UInt32.max)
        #expect(extremes.bytes == [UInt8](repeating: 0xff, count: 12))
    }

    @Test func booleanAndOptionBytesMustBeZeroOrOne() {
        for byte: UInt8 in [2, 0x80, 0xff] {
            #expect(decodingErrorCode { () throws(DecodingError) in var d = Decoder([byte]); _ = try d.decodeBool() } == .invalidTag)
            #expect(decodingErrorCode { () throws(DecodingError) in var d = Decoder([byte]); _ = try d.decodeOptionTag() } == .invalidTag)
            #expect(decodingErrorCode { () throws(DecodingError) in var d = Decoder([byte, 0]); _ = try d.decodeOptionalUInt8() } == .invalidTag)
        }
        #expect(decodingErrorCode { () throws(DecodingError) in var d = Decoder([]); _ = try d.decodeBool() } == .truncated)
    }

    @Test func optionals() throws {
        var encoder = Encoder()
        encoder.encode(String?.none)
        encoder.encode(String?.some("ab"))
        encoder.encode(Hash?.none)
        encoder.encode(UInt8?.some(7))
        #expect(encoder.bytes.hexString == "00" + "01" + "00000002" + "6162" + "00" + "01" + "07")
        var decoder = Decoder(encoder.bytes)
        #expect(try decoder.decodeOptionalString(maxBytes: 2) == nil)
        #expect(try decoder.decodeOptionalString(maxBytes: 2) == "ab")
        #expect(try decoder.decodeOptionalHash() == nil)
        #expect(try decoder.decodeOptionalUInt8() == 7)
        try decoder.finish()
    }

    @Test func lengthPrefixesAndMaximums() throws {
        var encoder = Encoder()
        encoder.encodeBytes([1, 2, 3])
        #expect(encoder.bytes.hexString == "00000003010203")
        var exact = Decoder(encoder.bytes)
        #expect(try exact.decodeBytes(maxBytes: 3) == [1, 2, 3])
        var over = Decoder(encoder.bytes)
        #expect(throws: DecodingError(.lengthTooLarge, "", offset: 0)) { try over.decodeBytes(maxBytes: 2) }
        // A huge length is refused before any allocation or read.
        var huge = Decoder([0xff, 0xff, 0xff, 0xff])
        #expect(throws: DecodingError(.lengthTooLarge, "", offset: 0)) { try huge.decodeBytes(maxBytes: 64) }
        // A length within the maximum but beyond the input is truncated.
        var short = Decoder([0, 0, 0, 4, 1, 2])
        #expect(throws: DecodingError(.truncated, "", offset: 0)) { try short.decodeBytes(maxBytes: 64) }
        // Fixed-width values have no length.
        var fixed = Encoder()
        fixed.encode(Hash.zero)
        #expect(fixed.bytes.count == 32)
    }

    @Test func stringsAreUTF8WithoutControlCharacters() throws {
        func decode(_ raw: [UInt8]) -> (String?, DecodingError.Code?) {
            var decoder = Decoder([0, 0, 0, UInt8(raw.count)] + raw)
            do throws(DecodingError) {
                return (try decoder.decodeString(maxBytes: 32), nil)
            } catch {
                return (nil, error.code)
            }
        }
        #expect(decode(Array("restaurant".utf8)).0 == "restaurant")
        #expect(decode(Array("東町".utf8)).0 == "東町")
        #expect(decode(Array("東町".utf8)).1 == nil)
        #expect(decode([]).0 == "")
        for control: UInt8 in [0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x7f] {
            #expect(decode([0x61, control]).1 == .invalidString, "control \(control)")
        }
        #expect(decode([0xff]).1 == .invalidString)
        #expect(decode([0xc0, 0xaf]).1 == .invalidString, "overlong")
        #expect(decode([0xed, 0xa0, 0x80]).1 == .invalidString, "surrogate")
        #expect(decode([0xe6, 0x9d]).1 == .invalidString, "cut multi-byte sequence")
        // The maximum counts UTF-8 bytes, not characters: 11 × 3 bytes = 33 > 32.
        #expect(decode(Array(String(repeating: "東", count: 11).utf8)).1 == .lengthTooLarge)
        #expect(decode(Array(String(repeating: "東", count: 10).utf8)).1 == nil)
    }

    @Test func listsCarryACountWithAMaximum() throws {
        var encoder = Encoder()
        encoder.encode([Asset.coin, .point, .thanks])
        #expect(encoder.bytes.hexString == "00000003" + "010203")
        var decoder = Decoder(encoder.bytes)
        #expect(try decoder.decodeList(Asset.self, maxCount: 3) == [.coin, .point, .thanks])
        var over = Decoder(encoder.bytes)
        #expect(throws: DecodingError(.lengthTooLarge, "", offset: 0)) { try over.decodeList(Asset.self, maxCount: 2) }
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try Asset(canonicalBytes: [0]) } == .invalidTag)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try Asset(canonicalBytes: [4]) } == .invalidTag)
    }

    @Test func enumTagsAreFixed() throws {
        #expect(Role.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7])
        #expect(Role.allCases.map(\.name) == ["resident", "merchant", "authority", "delegate", "card", "visitor", "organisation"])
        #expect(ChargeChannel.allCases.map(\.rawValue) == [1, 2])
        #expect(ChargeChannel.allCases.map(\.name) == ["app", "charge_machine"])
        #expect(PaymentPurpose.allCases.map(\.rawValue) == [1, 2, 3] && BonusEvent.allCases.map(\.rawValue) == [1, 2])
        #expect(Asset.allCases.map(\.rawValue) == [1, 2, 3])
        #expect([VoteStep.proposal, .prevote, .precommit].map(\.rawValue) == [1, 2, 3])
        #expect(ExpiryRule(kind: .never, months: 0).canonicalBytes.hexString == "0000000000")
        #expect(ExpiryRule(kind: .endOfMonthAfterLastChange, months: 12).canonicalBytes.hexString == "010000000c")
        #expect(ExpiryRule(kind: .endOfMonthAfterGrant, months: 6).canonicalBytes.hexString == "0200000006")
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try ExpiryRule(canonicalBytes: [4, 0, 0, 0, 1]) } == .invalidTag)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try VoteStep(canonicalBytes: [0]) } == .invalidTag)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try VoteStep(canonicalBytes: [4]) } == .invalidTag)
    }

    @Test func decodingErrorsCarryTheOffset() {
        let bytes = VectorGenerator.signedTransaction("charge-app").canonicalBytes
        do throws(DecodingError) {
            _ = try SignedTransaction(untrusted: bytes + [9])
            Issue.record("accepted")
        } catch {
            #expect(error.code == .trailingBytes)
            #expect(error.offset == bytes.count)
            #expect(error.description.hasPrefix("decode.trailing_bytes at byte \(bytes.count)"))
        }
        var badKind = bytes
        let kindOffset = 4 + Fixtures.chainId.utf8.count + 32 + 8
        badKind[kindOffset] = 0xff
        do throws(DecodingError) {
            _ = try SignedTransaction(untrusted: badKind)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .invalidTag)
            #expect(error.offset == kindOffset)
        }
    }

    @Test func hexRoundTrip() {
        let all = (0...255).map { UInt8($0) }
        #expect([UInt8](hex: all.hexString) == all)
        #expect([UInt8](hex: "00FFab") == [0, 0xff, 0xab])
        #expect([UInt8](hex: "") == [])
        #expect([UInt8](hex: "abc") == nil)
        #expect([UInt8](hex: "zz") == nil)
        #expect([UInt8](hex: "0x00") == nil)
        #expect(all.prefix(3).hexString == "000102")
        #expect(Hash(hex: String(repeating: "ab", count: 32))?.bytes == [UInt8](repeating: 0xab, count: 32))
        #expect(Hash(hex: String(repeating: "ab", count: 31)) == nil)
        #expect(Hash([UInt8](repeating: 0, count: 31)) == nil)
        #expect(Hash.zero.hex == String(repeating: "0", count: 64))
    }

    @Test func hashesAndDomains() {
        // SHA-256("abc") from FIPS 180-2.
        #expect(Hash.sha256(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hash.sha256([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let tags = HashDomain.allCases.map(\.rawValue)
        #expect(Set(tags).count == tags.count)
        for domain in HashDomain.allCases {
            #expect(domain.prefix == Array(domain.rawValue.utf8) + [0])
            #expect(domain.rawValue.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f })
            #expect(Hash.tagged(domain, [1, 2], [3]) == Fixtures.handTagged(domain.rawValue, [1, 2, 3]))
        }
        #expect(Hash.tagged(.transactionsLeaf, [1]) != Hash.tagged(.transactionsNode, [1]))
        // Ordering is unsigned lexicographic.
        #expect(Hash(hex: "00" + String(repeating: "ff", count: 31))! < Hash(hex: "01" + String(repeating: "00", count: 31))!)
    }

    @Test func cosignatureRulesOnDecode() throws {
        let cosigned = VectorGenerator.signedTransaction("register-cosigned")
        #expect(cosigned.cosignatures.count == 2)
        #expect(cosigned.cosignatures[0].signer < cosigned.cosignatures[1].signer)
        var reversed = cosigned
        reversed.cosignatures.reverse()
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try SignedTransaction(canonicalBytes: reversed.canonicalBytes) } == .invalidValue)
        var duplicated = cosigned
        duplicated.cosignatures = [cosigned.cosignatures[0], cosigned.cosignatures[0]]
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try SignedTransaction(canonicalBytes: duplicated.canonicalBytes) } == .invalidValue)
        var bySigner = cosigned
        bySigner.cosignatures = [Cosignature(signer: cosigned.transaction.signer, signature: cosigned.signature)]
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try SignedTransaction(canonicalBytes: bySigner.canonicalBytes) } == .invalidValue)
        // Adding co-signatures does not change the id.
        let plain = cosigned.transaction.signed(by: VectorGenerator.key("registrar"))
        #expect(plain.id == cosigned.id)
        #expect(plain.canonicalBytes != cosigned.canonicalBytes)
    }

    @Test func transactionSizeLimit() throws {
        let bytes = VectorGenerator.signedTransaction("charge-app").canonicalBytes
        let oversize = bytes + [UInt8](repeating: 0, count: TransactionLimits.transactionBytesMax + 1 - bytes.count)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try SignedTransaction(untrusted: oversize) } == .lengthTooLarge)
        // Exactly at the limit, the size check passes and decoding finds the trailing bytes.
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try SignedTransaction(untrusted: Array(oversize.dropLast())) } == .trailingBytes)
        // The largest well-formed transaction fits well within the limit.
        let key = VectorGenerator.key("registrar")
        let longest = Transaction(
            chainId: String(repeating: "a", count: TransactionLimits.chainIdBytesMax), signer: key.publicKey, nonce: .max,
            body: .register(Register(account: key.publicKey, role: .merchant, merchantCategory: String(repeating: "m", count: 32),
                                     residentIdHash: .zero, district: String(repeating: "d", count: 32), ageBand: 255)))
        let cosigners = ["city", "auditor", "coin-issuer", "validator-bank"].map(VectorGenerator.key)
        let signed = longest.signed(by: key, cosigners: cosigners)
        #expect(signed.canonicalBytes.count < TransactionLimits.transactionBytesMax)
        #expect(try SignedTransaction(untrusted: signed.canonicalBytes) == signed)
        // One byte over a string maximum is refused.
        var tooLong = longest
        tooLong.chainId += "a"
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try Transaction(canonicalBytes: tooLong.canonicalBytes) } == .lengthTooLarge)
    }

    @Test func publicKeyValidation() {
        #expect(PublicKey([UInt8](repeating: 0, count: 31)) == nil)
        #expect(PublicKey([UInt8](repeating: 0, count: 33)) == nil)
        // The reference point check used to build the invalid-key vectors.
        #expect(VectorGenerator.pub("resident-1").bytes.isEd25519Point)
        #expect(!VectorGenerator.notAPoint.isEd25519Point)
        #expect(!([0xff] + [UInt8](repeating: 0xff, count: 30) + [0x7f]).isEd25519Point, "y ≥ p")
        #expect(([1] + [UInt8](repeating: 0, count: 31)).isEd25519Point, "the identity (y = 1)")
        for name in DevelopmentKeys.names { #expect(VectorGenerator.pub(name).bytes.isEd25519Point) }
        #expect(PublicKey(VectorGenerator.notAPoint) == nil)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try PublicKey(canonicalBytes: VectorGenerator.notAPoint) } == .invalidKey)
    }

    @Test func signatures() throws {
        let key = VectorGenerator.key("resident-1")
        let message = Array("hello".utf8)
        let signature = key.sign(message)
        #expect(signature == key.sign(message), "Ed25519 is deterministic")
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: Array("hellp".utf8)))
        #expect(!VectorGenerator.pub("resident-2").isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(Signature(VectorGenerator.nonCanonicalS(signature))!, for: message), "S ≥ L is refused")
        #expect(Signature([UInt8](repeating: 0, count: 63)) == nil)
        #expect(PrivateKey(seed: [UInt8](repeating: 1, count: 31)) == nil)
        let seeded = try #require(PrivateKey(seed: key.seed))
        #expect(seeded.publicKey == key.publicKey)
        // RFC 8032 §7.1, test 1.
        let rfcSeed = try #require([UInt8](hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        let rfc = try #require(PrivateKey(seed: rfcSeed))
        #expect(rfc.publicKey.bytes.hexString == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        #expect(rfc.sign([]).bytes.hexString == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    }
}
