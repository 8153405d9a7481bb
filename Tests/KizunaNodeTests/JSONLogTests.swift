import Foundation
@testable import KizunaNode
import Logging
import Synchronization
import Testing

/// Structured logs (issue 20): `--log-format json` writes one JSON object per line.
@Suite("JSON logs")
struct JSONLogTests {
    @Test func aLineIsOneJSONObjectWithNestedMetadata() throws {
        let lines = Mutex<[String]>([])
        var handler = JSONLogHandler(label: "kizuna.test") { line in lines.withLock { $0.append(line) } }
        handler.logLevel = .info
        handler[metadataKey: "node"] = "city"
        var logger = Logger(label: "kizuna.test", factory: { _ in handler })
        logger.logLevel = .info
        logger.debug("below the level")
        logger.warning("a \"quoted\"\nmessage", metadata: ["height": "42", "peers": ["chamber", "bank"], "link": ["state": "open", "rtt": "3"]])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"), "one line per event, newlines escaped")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "kizuna.test")
        #expect(object["message"] as? String == "a \"quoted\"\nmessage")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["node"] as? String == "city")
        #expect(metadata["height"] as? String == "42")
        #expect(metadata["peers"] as? [String] == ["chamber", "bank"])
        #expect((metadata["link"] as? [String: String]) == ["state": "open", "rtt": "3"])
        #expect(object["source"] as? String != nil)
        let time = try #require(object["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z"), "\(time)")
        // Keys sorted: a stable shape for collectors and diffs.
        #expect(line.hasPrefix("{\"label\":"))
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_764_892_862.123)) == "2025-12-05T00:01:02.123Z")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 951_825_600.5)) == "2000-02-29T12:00:00.500Z")
    }

    /// The real binary: a node whose genesis file is missing logs its failure as JSON.
    @Test func theNodeLogsJSONWhenAsked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-jsonlog-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = folder.appendingPathComponent("k.json").path
        #expect(try NetworkProcessTests.runCLI(["keygen", "--out", key]).status == 0)
        let config = folder.appendingPathComponent("node.toml")
        try "dataDirectory = \"data\"\ngenesisFile = \"missing-genesis.json\"\nvalidatorKeyFile = \"k.json\"\n".write(to: config, atomically: true, encoding: .utf8)
        let run = try NetworkProcessTests.runCLI(["node", "--config", config.path, "--log-format", "json"])
        #expect(run.status != 0)
        let objects = run.output.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let failure = try #require(objects.first { $0["message"] as? String == "node refused its genesis" }, "\(run.output)")
        #expect(failure["level"] as? String == "critical")
        #expect(failure["label"] as? String == "kizuna.node")
        #expect(((failure["metadata"] as? [String: Any])?["error"] as? String)?.hasPrefix("genesis.unreadable") == true, "\(failure)")

        let refused = try NetworkProcessTests.runCLI(["node", "--config", config.path, "--log-format", "xml"])
        #expect(refused.status != 0 && refused.output.contains("log-format"), "\(refused.output)")
    }
}
