import Foundation
import Testing
import KizunaCore
import KizunaIndexer

/// `kizuna index`'s TOML configuration (docs/indexer.md §5): defaults, relative paths, and a
/// coded refusal for every wrong field.
@Suite("Indexer configuration")
struct IndexerConfigurationTests {
    let folder = URL(fileURLWithPath: "/srv/kizuna")

    func parse(_ text: String) throws(IndexerError) -> IndexerConfiguration {
        try IndexerConfiguration.parse(text, name: "indexer.toml", folder: folder)
    }

    static let minimal = """
    genesisFile = "genesis.json"
    [node]
    url = "http://127.0.0.1:8081"
    [postgres]
    user = "kizuna_indexer"
    database = "kizuna"
    """

    @Test func defaultsAndRelativePaths() throws {
        let configuration = try parse(Self.minimal + "\npasswordFile = \"secret/pg.password\"\nbiRole = \"kizuna_bi\"\n")
        #expect(configuration.genesisFile == "/srv/kizuna/genesis.json")
        #expect(configuration.postgres.passwordFile == "/srv/kizuna/secret/pg.password")
        #expect(configuration.postgres.host == "127.0.0.1" && configuration.postgres.port == 5432)
        #expect(configuration.postgres.biRole == "kizuna_bi")
        #expect(configuration.batchBlocksMax == 64 && configuration.pollMilliseconds == 500 && configuration.invariantsEveryBlocks == 0)
        #expect(configuration.logLevel == "info" && configuration.tokenFile == nil)
        let tuned = try parse(Self.minimal + "\n[indexer]\nbatchBlocksMax = 8\npollMilliseconds = 100\n")
        #expect(tuned.batchBlocksMax == 8 && tuned.pollMilliseconds == 100)
    }

    @Test(arguments: [
        (IndexerConfigurationTests.minimal + "\nbiRole = \"bi; DROP TABLE x\"\n", "postgres.biRole"),
        (IndexerConfigurationTests.minimal + "\nbiRole = \"kizuna_indexer\"\n", "postgres.biRole"),
        (IndexerConfigurationTests.minimal + "\nport = 0\n", "postgres.port"),
        (IndexerConfigurationTests.minimal + "\nhots = \"x\"\n", "postgres.hots"),
        (IndexerConfigurationTests.minimal.replacingOccurrences(of: "http://127.0.0.1:8081", with: "ftp://x"), "node.url"),
        (IndexerConfigurationTests.minimal.replacingOccurrences(of: "genesisFile = \"genesis.json\"", with: ""), "genesisFile"),
        (IndexerConfigurationTests.minimal.replacingOccurrences(of: "database = \"kizuna\"", with: ""), "postgres.database"),
        (IndexerConfigurationTests.minimal + "\n[indexer]\nbatchBlocksMax = 0\n", "indexer.batchBlocksMax"),
        ("logLevel = \"loud\"\n" + IndexerConfigurationTests.minimal, "logLevel"),
        ("genesisFile = \n", "line 1"),
    ])
    func refusals(text: String, field: String) {
        #expect(throws: IndexerError(.badConfig, "")) { try parse(text) }
        do {
            _ = try parse(text)
        } catch {
            #expect(error.description.hasPrefix("indexer.bad_config: "), "\(error)")
            #expect(error.description.contains(field), "\(error) does not name \(field)")
        }
    }

    /// The local network's example (Network/local/indexer.toml) parses, and its paths exist.
    @Test func theLocalNetworksExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try IndexerConfiguration.load(path: root.appendingPathComponent("Network/local/indexer.toml").path)
        #expect(FileManager.default.fileExists(atPath: configuration.genesisFile), "\(configuration.genesisFile)")
        #expect(try configuration.token(environment: [:]) == "local-auditor-token")
        #expect(configuration.postgres.biRole == "kizuna_bi" && configuration.nodeURL == "http://127.0.0.1:8081")
    }

    @Test func tokenAndPasswordFromTheEnvironment() throws {
        let configuration = try parse(Self.minimal)
        #expect(try configuration.token(environment: ["KIZUNA_TOKEN": " secret \n"]) == "secret")
        #expect(try configuration.token(environment: [:]) == nil)
        #expect(try configuration.postgresPassword(environment: ["KIZUNA_POSTGRES_PASSWORD": "pw"]) == "pw")
        var missing = configuration
        missing.tokenFile = "/nonexistent/token"
        #expect(throws: IndexerError(.badConfig, "")) { try missing.token(environment: [:]) }
    }
}
