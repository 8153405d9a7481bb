import Foundation
import Testing

/// The files `kizuna` writes beside what it prints, through the helpers the commands share:
/// a QR code's `--svg` (`kizuna card qr`, `kizuna wallet pay-code`) and a benchmark's
/// `--json` (every `kizuna bench` command). Real processes of the built binary.
@Suite("CLI output files (real processes)")
struct CLIOutputFileTests {
    static func temporaryFolder(_ name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-\(name)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("card qr writes the SVG to --svg, draws only with --draw, and names --svg when it cannot write")
    func cardQRWritesSVG() throws {
        let folder = try Self.temporaryFolder("qr")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let id = String(repeating: "ab", count: 16)
        let written = try NetworkProcessTests.runCLI(["card", "qr", "--card", id, "--svg", folder + "/card.svg"])
        #expect(written.status == 0, "\(written.output)")
        #expect(written.output == "kizuna-card:\(id)\n")
        let svg = try String(contentsOfFile: folder + "/card.svg", encoding: .utf8)
        #expect(svg.contains("<svg"), "\(svg.prefix(200))")

        let drawn = try NetworkProcessTests.runCLI(["card", "qr", "--card", id, "--draw"])
        #expect(drawn.status == 0, "\(drawn.output)")
        #expect(drawn.output.hasPrefix("kizuna-card:\(id)\n") && drawn.output.count > written.output.count)

        let refused = try NetworkProcessTests.runCLI(["card", "qr", "--card", id, "--svg", folder + "/no-such-folder/card.svg"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("--svg: cannot write \(folder)/no-such-folder/card.svg"), "\(refused.output)")
    }

    @Test("bench tree writes its result to --json, pretty-printed with sorted keys, and nothing without --json")
    func benchResultFile() throws {
        let folder = try Self.temporaryFolder("bench-json")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let arguments = ["bench", "tree", "--keys", "100", "--block-keys", "10", "--blocks", "1", "--proofs", "2", "--folder", folder + "/tree"]
        let run = try NetworkProcessTests.runCLI(arguments + ["--json", folder + "/tree.json"])
        #expect(run.status == 0, "\(run.output)")
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/tree.json"))
        let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(result.keys) == ["checks", "rows"])
        // Pretty-printed with sorted keys: the top level, and a row's dozen keys in order.
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"checks\" : ["), "\(text.prefix(80))")
        let rows = try #require(text.range(of: "\"rows\" : ["))
        let row = text[rows.upperBound...].prefix { $0 != "}" }
        let keys = row.split(separator: "\n").compactMap { line -> String? in
            let field = line.drop { $0 == " " }
            guard field.hasPrefix("\""), let end = field.dropFirst().firstIndex(of: "\"") else { return nil }
            return String(field[field.index(after: field.startIndex)..<end])
        }
        #expect(keys.count > 10 && keys == keys.sorted(), "\(keys)")

        let unwritten = try NetworkProcessTests.runCLI(arguments)
        #expect(unwritten.status == 0, "\(unwritten.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["tree", "tree.json"])
    }
}
