/// A QR code encoder (ISO/IEC 18004), for payment codes shown on a phone's screen: byte mode,
/// error-correction level M (about 15% of the symbol may be damaged), versions 1–14 (up to
/// 362 bytes; a `kizuna-pay:` code needs version 10 or 11). The smallest version that holds
/// the data is used; the mask is the one with the lowest penalty score unless one is given.
///
/// Written from the standard: data codewords, Reed–Solomon error correction over GF(256)
/// (polynomial x⁸ + x⁴ + x³ + x² + 1), block interleaving, function patterns, zigzag data
/// placement, the eight masks with the four penalty rules, BCH-coded format and version
/// information. Tests compare its modules with an independent encoder.
public struct QRCode: Sendable, Equatable {
    /// Modules per side: 17 + 4 × version.
    public let size: Int
    public let version: Int
    public let mask: Int
    /// Row-major; true = dark.
    public let modules: [[Bool]]

    public func isDark(row: Int, column: Int) -> Bool { modules[row][column] }

    /// Level M: (error-correction codewords per block, blocks in group 1, data codewords per
    /// group-1 block, blocks in group 2, data codewords per group-2 block), versions 1–14.
    private static let levelM: [(ec: Int, blocks1: Int, data1: Int, blocks2: Int, data2: Int)] = [
        (10, 1, 16, 0, 0), (16, 1, 28, 0, 0), (26, 1, 44, 0, 0), (18, 2, 32, 0, 0), (24, 2, 43, 0, 0),
        (16, 4, 27, 0, 0), (18, 4, 31, 0, 0), (22, 2, 38, 2, 39), (22, 3, 36, 2, 37), (26, 4, 43, 1, 44),
        (30, 1, 50, 4, 51), (22, 6, 36, 2, 37), (22, 8, 37, 1, 38), (24, 4, 40, 5, 41),
    ]
    /// Alignment-pattern centre coordinates, versions 1–14.
    private static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46],
        [6, 28, 50], [6, 30, 54], [6, 32, 58], [6, 34, 62], [6, 26, 46, 66],
    ]
    public static let maxVersion = 14

    /// The most bytes a level-M symbol of `version` holds in byte mode.
    public static func capacity(version: Int) -> Int {
        let shape = levelM[version - 1]
        let dataBits = (shape.blocks1 * shape.data1 + shape.blocks2 * shape.data2) * 8
        return (dataBits - 4 - (version < 10 ? 8 : 16)) / 8
    }

    /// Encodes `data` in byte mode at level M; nil when it is longer than version 14 holds
    /// (362 bytes). `mask` 0–7 forces a mask (for tests); nil picks the lowest penalty.
    public static func encode(_ data: [UInt8], mask: Int? = nil) -> QRCode? {
        guard let version = (1...maxVersion).first(where: { capacity(version: $0) >= data.count }) else { return nil }
        return encode(data, version: version, mask: mask)
    }

    /// Encodes the UTF-8 bytes of `text`.
    public static func encode(text: String, mask: Int? = nil) -> QRCode? { encode(Array(text.utf8), mask: mask) }

    /// Encodes at a given version (nil when the data does not fit it).
    public static func encode(_ data: [UInt8], version: Int, mask: Int?) -> QRCode? {
        guard (1...maxVersion).contains(version), data.count <= capacity(version: version) else { return nil }
        if let mask, !(0...7).contains(mask) { return nil }
        let codewords = interleaved(dataCodewords(data, version: version), version: version)
        var grid = Grid(version: version)
        grid.drawFunctionPatterns()
        grid.place(codewords)
        let chosen: Int
        if let mask {
            chosen = mask
        } else {
            var best = (mask: 0, score: Int.max)
            for candidate in 0..<8 {
                var trial = grid
                trial.apply(mask: candidate)
                trial.drawFormat(mask: candidate)
                let score = trial.penalty()
                if score < best.score { best = (candidate, score) }
            }
            chosen = best.mask
        }
        grid.apply(mask: chosen)
        grid.drawFormat(mask: chosen)
        return QRCode(size: grid.size, version: version, mask: chosen, modules: grid.modules)
    }

    // MARK: Data

    private static func dataCodewords(_ data: [UInt8], version: Int) -> [UInt8] {
        let shape = levelM[version - 1]
        let capacityBits = (shape.blocks1 * shape.data1 + shape.blocks2 * shape.data2) * 8
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(data.count, version < 10 ? 8 : 16)
        for byte in data { append(Int(byte), 8) }
        append(0, min(4, capacityBits - bits.count))
        if bits.count % 8 != 0 { append(0, 8 - bits.count % 8) }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: bits.count, by: 8) {
            var byte: UInt8 = 0
            for bit in bits[index..<index + 8] { byte = byte << 1 | (bit ? 1 : 0) }
            bytes.append(byte)
        }
        var pad: UInt8 = 0xEC
        while bytes.count * 8 < capacityBits {
            bytes.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return bytes
    }

    private static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let shape = levelM[version - 1]
        let divisor = reedSolomonDivisor(degree: shape.ec)
        var blocks: [[UInt8]] = []
        var offset = 0
        for length in Array(repeating: shape.data1, count: shape.blocks1) + Array(repeating: shape.data2, count: shape.blocks2) {
            blocks.append(Array(data[offset..<offset + length]))
            offset += length
        }
        let corrections = blocks.map { reedSolomonRemainder($0, divisor: divisor) }
        var result: [UInt8] = []
        for index in 0..<(blocks.map(\.count).max() ?? 0) {
            for block in blocks where index < block.count { result.append(block[index]) }
        }
        for index in 0..<shape.ec {
            for correction in corrections { result.append(correction[index]) }
        }
        return result
    }

    // MARK: Reed–Solomon over GF(2⁸), polynomial 0x11D

    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var z: UInt16 = 0
        for shift in stride(from: 7, through: 0, by: -1) {
            z = (z << 1) ^ ((z >> 7) * 0x11D)
            z ^= UInt16((y >> UInt8(shift)) & 1) * UInt16(x)
        }
        return UInt8(truncatingIfNeeded: z)
    }

    /// The generator polynomial ∏ (x − αⁱ), i < degree, highest coefficient (1) dropped.
    static func reedSolomonDivisor(degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                result[index] = multiply(result[index], root)
                if index + 1 < degree { result[index] ^= result[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    static func reedSolomonRemainder(_ data: [UInt8], divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for index in 0..<result.count { result[index] ^= multiply(divisor[index], factor) }
        }
        return result
    }

    // MARK: The grid

    private struct Grid {
        let version: Int
        let size: Int
        var modules: [[Bool]]
        var isFunction: [[Bool]]

        init(version: Int) {
            self.version = version
            size = 17 + 4 * version
            modules = Array(repeating: Array(repeating: false, count: size), count: size)
            isFunction = modules
        }

        mutating func set(row: Int, column: Int, _ dark: Bool) {
            modules[row][column] = dark
            isFunction[row][column] = true
        }

        mutating func drawFunctionPatterns() {
            for index in 0..<size {
                set(row: 6, column: index, index % 2 == 0)
                set(row: index, column: 6, index % 2 == 0)
            }
            drawFinder(row: 3, column: 3)
            drawFinder(row: 3, column: size - 4)
            drawFinder(row: size - 4, column: 3)
            let centres = QRCode.alignment[version - 1]
            for (i, row) in centres.enumerated() {
                for (j, column) in centres.enumerated() {
                    let last = centres.count - 1
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    for dr in -2...2 {
                        for dc in -2...2 { set(row: row + dr, column: column + dc, max(abs(dr), abs(dc)) != 1) }
                    }
                }
            }
            // Reserve the format areas (drawn after masking) and draw the version information.
            drawFormat(mask: 0)
            if version >= 7 {
                var remainder = version
                for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
                let bits = version << 12 | remainder
                for index in 0..<18 {
                    let dark = (bits >> index) & 1 == 1
                    let a = size - 11 + index % 3
                    let b = index / 3
                    set(row: b, column: a, dark)
                    set(row: a, column: b, dark)
                }
            }
        }

        /// A finder pattern with its light separator, centred on (row, column).
        private mutating func drawFinder(row: Int, column: Int) {
            for dr in -4...4 {
                for dc in -4...4 {
                    let r = row + dr, c = column + dc
                    guard (0..<size).contains(r), (0..<size).contains(c) else { continue }
                    let distance = max(abs(dr), abs(dc))
                    set(row: r, column: c, distance != 2 && distance != 4)
                }
            }
        }

        /// Format information: level M (00) and the mask, BCH(15,5), XOR 101010000010010.
        mutating func drawFormat(mask: Int) {
            let data = 0b00 << 3 | mask
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let bits = (data << 10 | remainder) ^ 0x5412
            func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
            for index in 0...5 { set(row: index, column: 8, bit(index)) }
            set(row: 7, column: 8, bit(6))
            set(row: 8, column: 8, bit(7))
            set(row: 8, column: 7, bit(8))
            for index in 9..<15 { set(row: 8, column: 14 - index, bit(index)) }
            for index in 0..<8 { set(row: 8, column: size - 1 - index, bit(index)) }
            for index in 8..<15 { set(row: size - 15 + index, column: 8, bit(index)) }
            set(row: size - 8, column: 8, true)
        }

        /// Codewords in the two-column zigzag from the bottom right, skipping function modules.
        mutating func place(_ codewords: [UInt8]) {
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vertical in 0..<size {
                    for offset in 0..<2 {
                        let column = right - offset
                        let upward = (right + 1) & 2 == 0
                        let row = upward ? size - 1 - vertical : vertical
                        if !isFunction[row][column] && index < codewords.count * 8 {
                            modules[row][column] = (codewords[index >> 3] >> (7 - UInt8(index & 7))) & 1 == 1
                            index += 1
                        }
                    }
                }
                right -= 2
            }
        }

        mutating func apply(mask: Int) {
            for row in 0..<size {
                for column in 0..<size where !isFunction[row][column] {
                    let (x, y) = (column, row)
                    let invert = switch mask {
                    case 0: (x + y) % 2 == 0
                    case 1: y % 2 == 0
                    case 2: x % 3 == 0
                    case 3: (x + y) % 3 == 0
                    case 4: (x / 3 + y / 2) % 2 == 0
                    case 5: x * y % 2 + x * y % 3 == 0
                    case 6: (x * y % 2 + x * y % 3) % 2 == 0
                    default: ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if invert { modules[row][column].toggle() }
                }
            }
        }

        /// The four penalty rules of ISO/IEC 18004 §7.8.3.
        func penalty() -> Int {
            var score = 0
            let lines = modules + (0..<size).map { column in (0..<size).map { modules[$0][column] } }
            let finderLike: [Bool] = [true, false, true, true, true, false, true]
            for line in lines {
                var run = 1
                for index in 1...size {
                    if index < size && line[index] == line[index - 1] {
                        run += 1
                    } else {
                        if run >= 5 { score += 3 + run - 5 }
                        run = 1
                    }
                }
                // 1:1:3:1:1 dark-light pattern with four light modules on one side.
                for start in 0...(size - 7) where Array(line[start..<start + 7]) == finderLike {
                    let before = start >= 4 && !line[(start - 4)..<start].contains(true)
                    let after = start + 11 <= size && !line[(start + 7)..<(start + 11)].contains(true)
                    if before || after { score += 40 }
                }
            }
            for row in 0..<(size - 1) {
                for column in 0..<(size - 1) {
                    let colour = modules[row][column]
                    if modules[row][column + 1] == colour && modules[row + 1][column] == colour && modules[row + 1][column + 1] == colour { score += 3 }
                }
            }
            let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
            let total = size * size
            let deviation = abs(dark * 20 - total * 10)
            score += ((deviation + total - 1) / total - 1) * 10
            return max(score, 0)
        }
    }

    // MARK: Rendering

    /// An SVG image: one path of dark modules with a four-module quiet zone, `scale` pixels
    /// per module.
    public func svg(scale: Int = 8) -> String {
        let border = 4
        let side = (size + 2 * border) * scale
        var path = ""
        for row in 0..<size {
            for column in 0..<size where modules[row][column] {
                path += "M\(column + border),\(row + border)h1v1h-1z"
            }
        }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(side)" height="\(side)" viewBox="0 0 \(size + 2 * border) \(size + 2 * border)" shape-rendering="crispEdges">
        <rect width="100%" height="100%" fill="#ffffff"/>
        <path d="\(path)" fill="#000000"/>
        </svg>

        """
    }

    /// The symbol for a terminal with light text on a dark background: two module rows per
    /// line in Unicode half blocks, light modules drawn in the text colour, with a two-module
    /// quiet zone.
    public func terminalText() -> String {
        let border = 2
        func dark(_ row: Int, _ column: Int) -> Bool {
            (0..<size).contains(row) && (0..<size).contains(column) && modules[row][column]
        }
        var lines: [String] = []
        for row in stride(from: -border, to: size + border, by: 2) {
            var line = ""
            for column in -border..<(size + border) {
                switch (dark(row, column), dark(row + 1, column)) {
                case (true, true): line += " "
                case (true, false): line += "▄"
                case (false, true): line += "▀"
                case (false, false): line += "█"
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
