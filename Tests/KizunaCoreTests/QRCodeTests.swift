import Foundation
import KizunaCore
import KizunaWallet
import Testing

/// The QR encoder of payment codes (`Sources/KizunaWallet/QRCode.swift`) against reference
/// symbols made by an independent encoder (`Vectors/qr-reference.json`, written by
/// `Vectors/qr-reference.py` with the Python `qrcode` package): every module must match.
@Suite("QR codes")
struct QRCodeTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var name: String
            var dataHex: String
            var version: Int
            var mask: Int
            var rows: [String]
        }
        var cases: [Case]
    }

    static func reference() throws -> Reference {
        let url = try #require(Bundle.module.url(forResource: "qr-reference", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    static func rows(_ code: QRCode) -> [String] {
        code.modules.map { String($0.map { $0 ? "1" : "0" }) }
    }

    @Test("every module matches the reference symbols: all eight masks, versions 1, 4, 7 (version information), 10, 11 and 14")
    func matchesReference() throws {
        let reference = try Self.reference()
        #expect(reference.cases.count == 13)
        for vector in reference.cases {
            let data = try #require([UInt8](hex: vector.dataHex))
            let code = try #require(QRCode.encode(data, version: vector.version, mask: vector.mask), "\(vector.name)")
            #expect(code.size == 17 + 4 * vector.version)
            let rows = Self.rows(code)
            let differing = zip(rows, vector.rows).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(differing.isEmpty, "\(vector.name): rows \(differing) differ")
            // The smallest version that fits is what the automatic choice takes.
            if let automatic = QRCode.encode(data, mask: vector.mask), automatic.version == vector.version {
                #expect(Self.rows(automatic) == vector.rows)
            }
        }
    }

    @Test("capacity (byte mode, level M) per version; the smallest version that fits; nil past version 14")
    func capacity() {
        #expect((1...14).map { QRCode.capacity(version: $0) } == [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362])
        #expect(QRCode.encode([UInt8](repeating: 1, count: 213))?.version == 10)
        #expect(QRCode.encode([UInt8](repeating: 1, count: 214))?.version == 11)
        #expect(QRCode.encode([UInt8](repeating: 1, count: 363)) == nil)
        #expect(QRCode.encode([1], version: 1, mask: 8) == nil)
    }

    @Test("the automatic mask is one of the eight, and the symbol equals the one forced to that mask")
    func automaticMask() throws {
        let data = Array("kizuna-pay:automatic-mask".utf8)
        let automatic = try #require(QRCode.encode(data))
        #expect(QRCode.encode(data, mask: automatic.mask) == automatic)
    }

    @Test("payment codes fit: any merchant in version 10, a named merchant in version 11; SVG and terminal renderings")
    func paymentCodes() throws {
        let file = try VectorTests.load()
        let any = try #require(file.paymentAuthorisations.first { $0.merchant == nil })
        let named = try #require(file.paymentAuthorisations.first { $0.merchant != nil })
        #expect(any.text.utf8.count == 207 && named.text.utf8.count == 250)
        let code = try #require(QRCode.encode(text: any.text))
        #expect(code.version == 10 && code.size == 57)
        #expect(try #require(QRCode.encode(text: named.text)).version == 11)
        let svg = code.svg(scale: 4)
        let dark = code.modules.reduce(0) { $0 + $1.filter { $0 }.count }
        #expect(svg.components(separatedBy: "h1v1h-1z").count - 1 == dark)
        #expect(svg.contains("viewBox=\"0 0 65 65\"") && svg.contains("width=\"260\""))
        let lines = code.terminalText().split(separator: "\n")
        #expect(lines.count == (57 + 4 + 1) / 2 && lines.allSatisfy { $0.count == 61 })
    }
}
