import Foundation
import KizunaCore
import Testing

/// Shared fixtures for the Core tests. Every key is derived deterministically: the published
/// development keys (`DevelopmentKeys.privateKey`) or `PrivateKey(seed: SHA-256(phrase))`.
enum Fixtures {
    static let chainId = "local-kizuna-1"

    static func key(_ name: String) -> PrivateKey { DevelopmentKeys.privateKey(name) }

    /// A non-development key from a fixed phrase (for genesis documents on non-local chains).
    static func testKey(_ phrase: String) -> PrivateKey {
        PrivateKey(seed: Hash.sha256(Array("KIZUNA TEST KEY - \(phrase)".utf8)).bytes)!
    }

    static let validatorNames = ["validator-city", "validator-chamber", "validator-operator", "validator-bank"]

    static var validators: [Validator] {
        zip(validatorNames, ["Kizuna City", "Chamber of Commerce", "Platform Operator", "Community Bank"]).map { name, organisation in
            Validator(name: name, organisation: organisation, publicKey: key(name).publicKey, votingPower: 1)
        }
    }

    static var validatorSet: ValidatorSet { ValidatorSet(validators) }

    /// 2026-04-01T09:00:00+09:00 in UTC milliseconds.
    static let exampleTime: UInt64 = 1_775_001_600_000

    static func hash(_ phrase: String) -> Hash { Hash.sha256(Array(phrase.utf8)) }

    /// A hash computed by hand: SHA-256 of the ASCII tag, a zero byte, then the parts. Used
    /// to check `Hash.tagged` independently of `HashDomain.prefix`.
    static func handTagged(_ tag: String, _ parts: [UInt8]...) -> Hash {
        var input = Array(tag.utf8) + [0]
        for part in parts { input += part }
        return Hash.sha256(input)
    }
}

/// SplitMix64: a tiny seeded generator so sampled tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The decoding error code thrown by `body`, or nil if it did not throw.
func decodingErrorCode(_ body: () throws(DecodingError) -> Void) -> DecodingError.Code? {
    do throws(DecodingError) {
        try body()
        return nil
    } catch {
        return error.code
    }
}

func transactionErrorCode(_ body: () throws(TransactionError) -> Void) -> TransactionError.Code? {
    do throws(TransactionError) {
        try body()
        return nil
    } catch {
        return error.code
    }
}

func certificateErrorCode(_ body: () throws(CertificateError) -> Void) -> CertificateError.Code? {
    do throws(CertificateError) {
        try body()
        return nil
    } catch {
        return error.code
    }
}

func genesisErrorCode(_ body: () throws(GenesisError) -> Void) -> GenesisError.Code? {
    do throws(GenesisError) {
        try body()
        return nil
    } catch {
        return error.code
    }
}

extension Array where Element == UInt8 {
    /// Whether these 32 bytes decode to a point on the Ed25519 curve (RFC 8032 §5.1.3):
    /// y < p and (y² − 1)/(d·y² + 1) is a square, with x = 0 only for sign bit 0.
    /// An independent reference check for the tests; `PublicKey` should agree with it.
    var isEd25519Point: Bool {
        guard count == 32 else { return false }
        var yBytes = self
        let sign = yBytes[31] >> 7
        yBytes[31] &= 0x7f
        let y = Field25519(littleEndian: yBytes)
        guard y.isCanonical else { return false }
        let y2 = y.reduced * y.reduced
        let u = y2 - .one
        let v = Field25519.d * y2 + .one
        let x2 = u * v.inverse
        if x2.isZero { return sign == 0 }
        // Euler's criterion: x2^((p−1)/2) == 1.
        return x2.power(Field25519.pMinusOneOverTwo) == .one
    }
}

/// Arithmetic modulo p = 2^255 − 19 on four 64-bit limbs, little-endian. Slow and simple:
/// only for checking test inputs.
struct Field25519: Equatable {
    var limbs: [UInt64]

    static let p: [UInt64] = [0xFFFF_FFFF_FFFF_FFED, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF]
    static let one = Field25519(limbs: [1, 0, 0, 0])
    static let zero = Field25519(limbs: [0, 0, 0, 0])
    /// d = −121665/121666 mod p.
    static let d = Field25519(limbs: [0x75EB_4DCA_1359_78A3, 0x0070_0A4D_4141_D8AB, 0x8CC7_4079_7779_E898, 0x5203_6CEE_2B6F_FE73])
    static let pMinusTwo: [UInt64] = [0xFFFF_FFFF_FFFF_FFEB, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF]
    static let pMinusOneOverTwo: [UInt64] = [0xFFFF_FFFF_FFFF_FFF6, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x3FFF_FFFF_FFFF_FFFF]

    init(limbs: [UInt64]) { self.limbs = limbs }

    init(littleEndian bytes: [UInt8]) {
        limbs = (0..<4).map { limb in
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[limb * 8 + $1]) << UInt64($1 * 8) }
        }
    }

    static func lessThan(_ a: [UInt64], _ b: [UInt64]) -> Bool {
        for index in (0..<4).reversed() where a[index] != b[index] { return a[index] < b[index] }
        return false
    }

    var isCanonical: Bool { Field25519.lessThan(limbs, Field25519.p) }
    var isZero: Bool { reduced.limbs == [0, 0, 0, 0] }

    /// Subtracts p while the value is ≥ p.
    var reduced: Field25519 {
        var value = limbs
        while !Field25519.lessThan(value, Field25519.p) {
            var borrow: UInt64 = 0
            for index in 0..<4 {
                let (d1, o1) = value[index].subtractingReportingOverflow(Field25519.p[index])
                let (d2, o2) = d1.subtractingReportingOverflow(borrow)
                value[index] = d2
                borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
            }
        }
        return Field25519(limbs: value)
    }

    static func + (a: Field25519, b: Field25519) -> Field25519 {
        var result = [UInt64](repeating: 0, count: 4)
        var carry: UInt64 = 0
        for index in 0..<4 {
            let (s1, o1) = a.limbs[index].addingReportingOverflow(b.limbs[index])
            let (s2, o2) = s1.addingReportingOverflow(carry)
            result[index] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        // Inputs are < p < 2^255, so the sum is < 2^256 and carry is 0.
        return Field25519(limbs: result).reduced
    }

    static func - (a: Field25519, b: Field25519) -> Field25519 {
        // a − b = a + (p − b)
        let b = b.reduced
        var negated = [UInt64](repeating: 0, count: 4)
        var borrow: UInt64 = 0
        for index in 0..<4 {
            let (d1, o1) = Field25519.p[index].subtractingReportingOverflow(b.limbs[index])
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            negated[index] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return a.reduced + Field25519(limbs: negated)
    }

    static func * (a: Field25519, b: Field25519) -> Field25519 {
        // Schoolbook 256×256 → 512 bits, then fold: 2^256 ≡ 38 (mod p).
        var wide = [UInt64](repeating: 0, count: 8)
        for i in 0..<4 {
            var carry: UInt64 = 0
            for j in 0..<4 {
                let (high, low) = a.limbs[i].multipliedFullWidth(by: b.limbs[j])
                let (s1, o1) = wide[i + j].addingReportingOverflow(low)
                let (s2, o2) = s1.addingReportingOverflow(carry)
                wide[i + j] = s2
                carry = high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            wide[i + 4] = carry
        }
        var value = Array(wide[0..<4])
        var carry: UInt64 = 0
        for index in 0..<4 {
            let (high, low) = wide[index + 4].multipliedFullWidth(by: 38)
            let (s1, o1) = value[index].addingReportingOverflow(low)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            value[index] = s2
            carry = high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
        }
        // Fold the final carry (< 2^7) once more: carry·2^256 ≡ carry·38.
        var extra = carry &* 38
        for index in 0..<4 {
            let (s, o) = value[index].addingReportingOverflow(extra)
            value[index] = s
            extra = o ? 1 : 0
        }
        if extra != 0 {
            // A second wrap can only leave a tiny value; add 38 once more.
            value[0] &+= 38
        }
        return Field25519(limbs: value).reduced
    }

    func power(_ exponent: [UInt64]) -> Field25519 {
        var result = Field25519.one
        for index in (0..<4).reversed() {
            for bit in (0..<64).reversed() {
                result = result * result
                if exponent[index] >> UInt64(bit) & 1 == 1 { result = result * self }
            }
        }
        return result
    }

    var inverse: Field25519 { power(Field25519.pMinusTwo) }
}
