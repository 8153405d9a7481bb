import Foundation
import KizunaNode
import Testing

/// `kizuna node init` (issue 20): the commented configuration it writes is one the node reads,
/// and every value it shows commented out is the default.
@Suite("kizuna node init")
struct NodeInitTests {
    @Test func theCommentedConfigurationParsesAndShowsTheDefaults() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-init-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("node.toml").path
        let run = try NetworkProcessTests.runCLI(["node", "init", "--out", path, "--data", "store", "--genesis", "g.json", "--key", "k.json"])
        #expect(run.status == 0, "\(run.output)")
        // As written: the three paths, the API, everything else at its default.
        let written = try NodeConfiguration.load(path: path)
        #expect(written.dataDirectory == folder.appendingPathComponent("store").path)
        #expect(written.genesisFile == folder.appendingPathComponent("g.json").path)
        #expect(written.validatorKeyFile == folder.appendingPathComponent("k.json").path)
        var expected = NodeConfiguration.defaults
        (expected.dataDirectory, expected.genesisFile, expected.validatorKeyFile) = (written.dataDirectory, written.genesisFile, written.validatorKeyFile)
        #expect(written == expected)

        // Every commented setting of the top level and of [console], [admission], [consensus]
        // uncommented: still exactly the defaults (so the comments tell the truth).
        var section = ""
        var lines: [String] = []
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# ["), line.hasSuffix("]") { section = String(line.dropFirst(2)) }
            let uncommentable = ["", "[console]", "[admission]", "[consensus]"].contains(section)
            if uncommentable, line.hasPrefix("# "), line.dropFirst(2).first?.isLetter == true || line.hasPrefix("# ["), line.contains(" = ") || line.hasPrefix("# [") {
                lines.append(String(line.dropFirst(2)))
            } else {
                lines.append(line)
            }
        }
        let uncommented = folder.appendingPathComponent("uncommented.toml").path
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: uncommented))
        #expect(lines.contains("[admission]") && lines.contains("blockTransactionsMax = \(expected.blockTransactionsMax)"))
        #expect(lines.contains("stateCompactionAtCloseMiB = \(expected.stateCompactionAtCloseMiB)") && lines.contains("stateValueCacheMiB = \(expected.stateValueCacheMiB)"))
        #expect(try NodeConfiguration.load(path: uncommented) == written)

        // It never overwrites.
        let again = try NetworkProcessTests.runCLI(["node", "init", "--out", path])
        #expect(again.status != 0 && again.output.contains("already exists"))
    }
}
