/// Strict checking of Ed25519 public-key encodings.
///
/// swift-crypto's `Curve25519.Signing.PublicKey(rawRepresentation:)` only checks the length,
/// so without this check 32 bytes that are not a curve point could be registered as an
/// account that nobody can ever sign for. Keys are public data, so nothing here is
/// constant time; it is written to be short and easy to check against RFC 8032.
enum Ed25519Point {
    /// Whether `bytes` is the canonical encoding of a point on Ed25519 (RFC 8032 §5.1.3).
    ///
    /// By default the 8 points of small order (the identity, the point of order 2, and the
    /// points of order 4 and 8) are refused as well, although they decode: no private key
    /// yields one, and a signature "by" such a key can be forged without any secret, so
    /// an account with one could be claimed by anyone (or, under strict verifiers, by
    /// no one). Pass `allowingSmallOrder: true` for the plain RFC 8032 decoding.
    static func isValidEncoding(_ bytes: [UInt8], allowingSmallOrder: Bool = false) -> Bool {
        guard let (x, y) = decode(bytes) else { return false }
        return allowingSmallOrder || !hasSmallOrder(x: x, y: y)
    }

    /// RFC 8032 §5.1.3: y is the little-endian number in bits 0…254, bit 255 is the sign
    /// (the low bit) of x. Returns the affine coordinates, or nil if there is no such point.
    static func decode(_ bytes: [UInt8]) -> (x: FieldElement, y: FieldElement)? {
        guard bytes.count == 32 else { return nil }
        let sign = bytes[31] >> 7
        var yBytes = bytes
        yBytes[31] &= 0x7f
        // Each y < p has exactly one encoding; y ≥ p would be a second name for y − p.
        guard let y = FieldElement(canonicalLittleEndian: yBytes) else { return nil }

        // The curve −x² + y² = 1 + d·x²·y² gives x² = u/v with u = y² − 1, v = d·y² + 1.
        // v is never 0: y² = −1/d has no solution because d is not a square.
        let y2 = y * y
        let u = y2 - .one
        let v = FieldElement.d * y2 + .one

        // Candidate square root of u/v with a single exponentiation, since p ≡ 5 (mod 8):
        // x = u·v³·(u·v⁷)^((p−5)/8). It is either a root, or a root divided by sqrt(−1).
        let v3 = v * v * v
        var x = u * v3 * (u * v3 * v3 * v).power(FieldElement.pMinus5Over8)
        let vx2 = v * x * x
        if vx2 == u {
            // x is a square root of u/v.
        } else if vx2 == .zero - u {
            x = x * FieldElement.sqrtMinusOne
        } else {
            return nil // u/v is not a square: no point has this y.
        }

        // x = 0 has no negative, so sign bit 1 would be a second encoding of the same point.
        if x == .zero && sign == 1 { return nil }
        if x.isOdd != (sign == 1) { x = .zero - x }
        return (x, y)
    }

    /// Whether [8]P is the identity, i.e. P is one of the 8 points of small order
    /// (the curve group is 8 × a large prime, so everything else has order ≥ that prime).
    static func hasSmallOrder(x: FieldElement, y: FieldElement) -> Bool {
        // Projective coordinates (X : Y : Z) with x = X/Z, y = Y/Z, so doubling needs no inverse.
        var (px, py, pz) = (x, y, FieldElement.one)
        for _ in 0..<3 {
            // Doubling for a = −1 ("dbl-2008-hwcd", without T). It has no exceptional cases
            // on Ed25519: F and G below are zero only if d were a square.
            let a = px * px
            let b = py * py
            let c = pz * pz + pz * pz
            let e = (px + py) * (px + py) - a - b
            let g = b - a
            let f = g - c
            let h = FieldElement.zero - a - b
            (px, py, pz) = (e * f, g * h, f * g)
        }
        // The identity is (0, 1), i.e. X = 0 and Y = Z.
        return px == .zero && py == pz
    }
}

/// An integer modulo p = 2^255 − 19, always kept fully reduced (0 ≤ value < p) so that
/// `==` compares values. Four 64-bit limbs, least significant first.
struct FieldElement: Equatable {
    private var limbs: (UInt64, UInt64, UInt64, UInt64)

    private init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) { limbs = (l0, l1, l2, l3) }

    static let zero = FieldElement(0, 0, 0, 0)
    static let one = FieldElement(1, 0, 0, 0)
    private static let p = FieldElement(0xFFFF_FFFF_FFFF_FFED, .max, .max, 0x7FFF_FFFF_FFFF_FFFF)

    // Exponents, written out as 4 limbs. They are not reduced mod p; `power` does not need it.
    /// (p − 5)/8 = 2^252 − 3, for the square root candidate.
    static let pMinus5Over8 = FieldElement(0xFFFF_FFFF_FFFF_FFFD, .max, .max, 0x0FFF_FFFF_FFFF_FFFF)
    /// (p − 1)/4 = 2^253 − 5: 2 is not a square mod p, so 2^((p−1)/4) is a square root of −1.
    private static let pMinus1Over4 = FieldElement(0xFFFF_FFFF_FFFF_FFFB, .max, .max, 0x1FFF_FFFF_FFFF_FFFF)
    /// p − 2: a^(p−2) = 1/a (Fermat).
    private static let pMinus2 = FieldElement(0xFFFF_FFFF_FFFF_FFEB, .max, .max, 0x7FFF_FFFF_FFFF_FFFF)

    /// Derived from their definitions rather than pasted, so they cannot be mistyped.
    static let sqrtMinusOne = FieldElement(small: 2).power(pMinus1Over4)
    /// d = −121665/121666, the Ed25519 curve constant.
    static let d = (zero - FieldElement(small: 121_665)) * FieldElement(small: 121_666).power(pMinus2)

    init(small value: UInt64) { self.init(value, 0, 0, 0) }

    /// The 32-byte little-endian number, or nil if it is not below p.
    init?(canonicalLittleEndian bytes: [UInt8]) {
        precondition(bytes.count == 32)
        var value = FieldElement.zero
        for index in 0..<4 {
            value[index] = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[index * 8 + $1]) << UInt64(8 * $1) }
        }
        guard value.isBelowP else { return nil }
        self = value
    }

    private subscript(index: Int) -> UInt64 {
        get {
            switch index {
            case 0: limbs.0
            case 1: limbs.1
            case 2: limbs.2
            default: limbs.3
            }
        }
        set {
            switch index {
            case 0: limbs.0 = newValue
            case 1: limbs.1 = newValue
            case 2: limbs.2 = newValue
            default: limbs.3 = newValue
            }
        }
    }

    static func == (lhs: FieldElement, rhs: FieldElement) -> Bool {
        lhs.limbs == rhs.limbs
    }

    /// The "sign" of x in RFC 8032: the low bit of its reduced value.
    var isOdd: Bool { limbs.0 & 1 == 1 }

    private var isBelowP: Bool {
        for index in (0..<4).reversed() where self[index] != FieldElement.p[index] {
            return self[index] < FieldElement.p[index]
        }
        return false // equal to p
    }

    /// Adds `other` as a 256-bit number; returns the carry out of the top limb.
    private mutating func addReportingCarry(_ other: FieldElement) -> UInt64 {
        combineLimbs(other, UInt64.addingReportingOverflow)
    }

    /// Subtracts `other` as a 256-bit number; returns the borrow out of the top limb.
    @discardableResult
    private mutating func subtractReportingBorrow(_ other: FieldElement) -> UInt64 {
        combineLimbs(other, UInt64.subtractingReportingOverflow)
    }

    /// Adds or subtracts (`step`) `other` limb by limb from the lowest, passing the carry or
    /// borrow on to the next limb; returns the one out of the top limb.
    @inline(__always)
    private mutating func combineLimbs(
        _ other: FieldElement, _ step: (UInt64) -> (UInt64) -> (partialValue: UInt64, overflow: Bool)
    ) -> UInt64 {
        var carry: UInt64 = 0
        for index in 0..<4 {
            let (r1, o1) = step(self[index])(other[index])
            let (r2, o2) = step(r1)(carry)
            self[index] = r2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return carry
    }

    /// Brings any 256-bit value below p. 2^256 = 2p + 38, so at most two subtractions.
    private mutating func reduceOnce() {
        while !isBelowP {
            subtractReportingBorrow(FieldElement.p)
        }
    }

    /// Adds `carry` · 2^256 to the value, using 2^256 ≡ 38 (mod p), then reduces.
    private mutating func foldCarry(_ carry: UInt64) {
        var carry = carry
        while carry != 0 {
            // Callers pass a carry of at most a few dozen, so carry · 38 cannot overflow.
            carry = addReportingCarry(FieldElement(small: carry * 38))
        }
        reduceOnce()
    }

    static func + (lhs: FieldElement, rhs: FieldElement) -> FieldElement {
        var sum = lhs
        // Both are < p < 2^255, so the sum fits in 256 bits: no carry.
        sum.foldCarry(sum.addReportingCarry(rhs))
        return sum
    }

    static func - (lhs: FieldElement, rhs: FieldElement) -> FieldElement {
        // lhs − rhs = lhs + (p − rhs); p − rhs is in 1…p since rhs < p, so no borrow.
        var negated = FieldElement.p
        negated.subtractReportingBorrow(rhs)
        return lhs + negated
    }

    static func * (lhs: FieldElement, rhs: FieldElement) -> FieldElement {
        // Schoolbook 256 × 256 → 512 bits, unrolled on locals: no array, no subscript switch.
        // (An array here made key validation cost ~350 µs, and it runs for every key a peer
        // or a client sends.) Each step is a·b + w + carry ≤ (2^64 − 1)^2 + 2(2^64 − 1) < 2^128.
        let (a0, a1, a2, a3) = lhs.limbs
        let (b0, b1, b2, b3) = rhs.limbs
        @inline(__always) func step(_ a: UInt64, _ b: UInt64, _ w: inout UInt64, _ carry: inout UInt64) {
            let t = UInt128(a) * UInt128(b) + UInt128(w) + UInt128(carry)
            w = UInt64(truncatingIfNeeded: t)
            carry = UInt64(truncatingIfNeeded: t >> 64)
        }
        var (w0, w1, w2, w3, w4, w5, w6, w7): (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        var c: UInt64 = 0
        step(a0, b0, &w0, &c); step(a0, b1, &w1, &c); step(a0, b2, &w2, &c); step(a0, b3, &w3, &c); w4 = c; c = 0
        step(a1, b0, &w1, &c); step(a1, b1, &w2, &c); step(a1, b2, &w3, &c); step(a1, b3, &w4, &c); w5 = c; c = 0
        step(a2, b0, &w2, &c); step(a2, b1, &w3, &c); step(a2, b2, &w4, &c); step(a2, b3, &w5, &c); w6 = c; c = 0
        step(a3, b0, &w3, &c); step(a3, b1, &w4, &c); step(a3, b2, &w5, &c); step(a3, b3, &w6, &c); w7 = c; c = 0
        // low + 2^256 · high ≡ low + 38 · high (mod p).
        step(w4, 38, &w0, &c); step(w5, 38, &w1, &c); step(w6, 38, &w2, &c); step(w7, 38, &w3, &c) // c ≤ 38
        var result = FieldElement(w0, w1, w2, w3)
        result.foldCarry(c)
        return result
    }

    /// self^exponent, four bits at a time: 252 squarings and 63 multiplications instead of
    /// one multiplication per set bit (these exponents are nearly all ones).
    func power(_ exponent: FieldElement) -> FieldElement {
        var table = InlineArray<16, FieldElement>(repeating: .one) // table[k] = self^k
        for k in 1..<16 { table[k] = table[k - 1] * self }
        var result = FieldElement.one
        for index in (0..<4).reversed() {
            for shift in stride(from: 60, through: 0, by: -4) {
                for _ in 0..<4 { result = result * result }
                let digit = Int((exponent[index] >> UInt64(shift)) & 0xf)
                if digit != 0 { result = result * table[digit] }
            }
        }
        return result
    }
}
