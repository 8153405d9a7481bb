import Foundation
@testable import KizunaCore
import Testing

@Suite("Ed25519 point validation")
struct Ed25519PointTests {
    static func hex(_ text: String) -> [UInt8] { [UInt8](hex: text)! }

    /// The 8 points of small order, canonically encoded: the identity (order 1), the point of
    /// order 2, the two of order 4 (y = 0) and the four of order 8.
    static let smallOrder = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    ].map(hex)

    @Test func derivedKeysAreValid() throws {
        for i in 0..<200 {
            let key = try #require(PrivateKey(seed: Hash.sha256([UInt8(i)]).bytes)).publicKey.bytes
            #expect(Ed25519Point.isValidEncoding(key), "seed \(i)")
            #expect(PublicKey(key) != nil)
        }
    }

    @Test func rfc8032PublicKeysAreValid() {
        // RFC 8032 §7.1, tests 1, 2, 3, 1024 and SHA(abc).
        let keys = [
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        ]
        for key in keys.map(Ed25519PointTests.hex) {
            #expect(Ed25519Point.isValidEncoding(key), "\(key.hexString)")
            #expect(PublicKey(key) != nil)
        }
    }

    @Test func notOnTheCurve() {
        let notAPoint = [2] + [UInt8](repeating: 0, count: 31)
        #expect(!notAPoint.isEd25519Point, "the reference check agrees")
        #expect(!Ed25519Point.isValidEncoding(notAPoint, allowingSmallOrder: true))
        #expect(PublicKey(notAPoint) == nil)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try PublicKey(canonicalBytes: notAPoint) } == .invalidKey)
    }

    @Test func nonCanonicalEncodingsAreRefused() {
        // y = p, with either sign bit.
        let yIsP = Ed25519PointTests.hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        var yIsPNegative = yIsP
        yIsPNegative[31] |= 0x80
        // y = p + 1 (the identity again), y = 2^255 − 1 (the largest y that fits).
        let yIsPPlusOne = Ed25519PointTests.hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        let yIsMax = [UInt8](repeating: 0xff, count: 31) + [0x7f]
        for bytes in [yIsP, yIsPNegative, yIsPPlusOne, yIsMax] {
            #expect(!Ed25519Point.isValidEncoding(bytes, allowingSmallOrder: true), "\(bytes.hexString)")
            #expect(PublicKey(bytes) == nil)
        }
        // x = 0 with sign bit 1: a second name for the identity (y = 1) and for (0, −1).
        for bytes in ["0100000000000000000000000000000000000000000000000000000000000080",
                      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"].map(Ed25519PointTests.hex) {
            #expect(!Ed25519Point.isValidEncoding(bytes, allowingSmallOrder: true), "\(bytes.hexString)")
            #expect(PublicKey(bytes) == nil)
        }
        // A wrong length is never a point.
        #expect(!Ed25519Point.isValidEncoding([UInt8](repeating: 0, count: 31), allowingSmallOrder: true))
    }

    /// Small-order points decode (they are on the curve) but no private key has one, and
    /// signatures for them can be made without a secret, so PublicKey refuses them.
    @Test func smallOrderPointsAreRefused() {
        for bytes in Ed25519PointTests.smallOrder {
            #expect(bytes.isEd25519Point, "the reference check says it is on the curve: \(bytes.hexString)")
            #expect(Ed25519Point.isValidEncoding(bytes, allowingSmallOrder: true), "\(bytes.hexString)")
            #expect(!Ed25519Point.isValidEncoding(bytes), "\(bytes.hexString)")
            #expect(PublicKey(bytes) == nil)
        }
        #expect(Set(Ed25519PointTests.smallOrder).count == 8)
    }

    /// Random strings: about half are points. The result must agree with the independent
    /// reference in TestSupport (Euler's criterion rather than a square root).
    @Test func randomSweepAgreesWithReference() {
        var valid = 0
        for i in 0..<1000 {
            let bytes = Hash.sha256(Array("ed25519 sweep \(i)".utf8)).bytes
            let decodes = Ed25519Point.isValidEncoding(bytes, allowingSmallOrder: true)
            #expect(decodes == bytes.isEd25519Point, "\(bytes.hexString)")
            // None of these is one of the 8 small-order points, so PublicKey agrees too.
            #expect((PublicKey(bytes) != nil) == decodes, "\(bytes.hexString)")
            if decodes { valid += 1 }
        }
        #expect((400...600).contains(valid), "\(valid) of 1000 valid")
    }

    @Test func decodedPointIsOnTheCurve() throws {
        // −x² + y² = 1 + d·x²·y² for the decoded coordinates, and x has the requested sign.
        for i in 0..<20 {
            let key = try #require(PrivateKey(seed: Hash.sha256([UInt8(i), 1]).bytes)).publicKey.bytes
            let (x, y) = try #require(Ed25519Point.decode(key))
            let x2 = x * x, y2 = y * y
            #expect(y2 - x2 == .one + FieldElement.d * x2 * y2)
            #expect(x.isOdd == (key[31] >> 7 == 1))
        }
    }

    @Test func validatedKeyCacheKeepsOnlyValidKeysAndStaysBounded() throws {
        // A key that failed is checked again every time: a refusal is never remembered as valid.
        let offCurve = Self.hex("0200000000000000000000000000000000000000000000000000000000000000")
        #expect(PublicKey(offCurve) == nil)
        #expect(!ValidatedKeys.shared.contains(offCurve))
        #expect(PublicKey(offCurve) == nil)
        let key = try #require(PrivateKey(seed: Hash.sha256([9, 9]).bytes)).publicKey.bytes
        #expect(PublicKey(key) != nil)
        #expect(ValidatedKeys.shared.contains(key))
        #expect(PublicKey(key)?.bytes == key)

        let small = ValidatedKeys(capacity: 3)
        for value in UInt8(0)..<3 { small.insert([value]) }
        #expect(small.count == 3)
        small.insert([3])
        #expect(small.count == 1)
        #expect(small.contains([3]) && !small.contains([0]))
    }
}
