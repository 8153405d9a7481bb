import Foundation
import KizunaCore
import KizunaNetwork
import KizunaNode
import Testing

/// Replays the fuzz inputs of the node (`Fuzz/corpus/<target>`, `Fuzz/regressions/<target>`, read
/// relative to this file) through `NodeConfiguration.load(path:)` and `PeerMessage(frame:)` as
/// `FuzzNodeConfiguration` and `FuzzPeerMessage` drive them. See docs/reliability.md.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ target: String) -> [String] {
        ["corpus", "regressions"].flatMap { folder in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("\(folder)/\(target)").path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\(target)/\($0)" }
        }
    }

    @Test func corpusIsPresent() {
        #expect(!Self.files("FuzzNodeConfiguration").isEmpty)
        #expect(!Self.files("FuzzPeerMessage").isEmpty)
    }

    /// The input is written to `node.json` if it starts with `{`, else to `node.toml`. An accepted
    /// configuration has absolute paths and, written back as JSON, loads to the same configuration.
    @Test(arguments: Self.files("FuzzNodeConfiguration"))
    func nodeConfiguration(_ file: String) throws {
        let bytes = try Data(contentsOf: Self.root.appendingPathComponent(file))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-fuzz-regression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let isJSON = bytes.first { ![0x20, 0x09, 0x0a, 0x0d].contains($0) } == UInt8(ascii: "{")
        let path = folder.appendingPathComponent(isJSON ? "node.json" : "node.toml")
        try bytes.write(to: path)
        guard let configuration = try? NodeConfiguration.load(path: path.path) else { return }
        for resolved in [configuration.dataDirectory, configuration.genesisFile, configuration.validatorKeyFile] {
            #expect(resolved.hasPrefix("/"))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let writtenPath = folder.appendingPathComponent("written.json")
        try encoder.encode(configuration).write(to: writtenPath)
        #expect(try NodeConfiguration.load(path: writtenPath.path) == configuration)
    }

    /// Byte 0 is the frame kind, the rest the payload. What decodes re-encodes to the same frame.
    @Test(arguments: Self.files("FuzzPeerMessage"))
    func peerMessage(_ file: String) throws {
        let input = Array(try Data(contentsOf: Self.root.appendingPathComponent(file)))
        guard let kind = input.first else { return }
        let frame = Frame(kind: FrameKind(rawValue: kind), payload: Array(input.dropFirst()))
        let message: PeerMessage
        do throws(DecodingError) {
            message = try PeerMessage(frame: frame)
        } catch {
            #expect(error.offset >= 0 && error.offset <= frame.payload.count, "\(error)")
            return
        }
        #expect(message.frame == frame)
        #expect(try PeerMessage(frame: message.frame) == message)
    }
}
