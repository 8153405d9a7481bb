import Foundation
import KizunaCore
import KizunaNode
import KizunaWallet
import Testing

/// HTTPS on the API's port (issue 20: "TLS for the API as an option with a certificate path in
/// the TOML"): a real node process with `api.tlsCertificateFile` / `api.tlsKeyFile` answers and
/// commits over TLS to a client that trusts its certificate, a client that does not trust it
/// gets no answer, plain HTTP gets none either, and a key that is not the certificate's stops
/// the start with `node.api_tls`. The certificates are made by the `openssl` command and the
/// client is `curl` (both installed by `.ci/run`).
@Suite(.serialized) struct APITLSProcessTests {
    struct Run { var status: Int32; var output: String }

    static func tool(_ name: String, _ arguments: [String], in folder: URL) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        process.currentDirectoryURL = folder
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// A self-signed P-256 certificate for 127.0.0.1 (it is its own trust anchor).
    static func makeCertificate(_ name: String, in folder: URL) throws {
        let made = try tool("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(name).key", "-out", "\(name).crt", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ], in: folder)
        #expect(made.status == 0, "openssl: \(made.output)")
    }

    static func configure(_ node: NodeProcess, certificate: String, key: String) throws {
        let configuration = """
        {"dataDirectory": "data", "genesisFile": "genesis.json", "validatorKeyFile": "validator.key.json",
         "api": {"host": "127.0.0.1", "port": \(node.port), "tlsCertificateFile": "\(certificate)", "tlsKeyFile": "\(key)"},
         "blockIntervalMilliseconds": 20, "emptyBlockIntervalMilliseconds": 500, "logLevel": "info"}
        """
        try Data(configuration.utf8).write(to: node.folder.appendingPathComponent("node.json"))
    }

    @Test func theAPIAnswersOverHTTPSToAClientThatTrustsItsCertificateOnly() async throws {
        let node = try NodeProcess(name: "api-tls")
        defer { node.remove() }
        try Self.makeCertificate("api", in: node.folder)
        try Self.configure(node, certificate: "api.crt", key: "api.key")
        let folder = node.folder
        let url = "https://127.0.0.1:\(node.port)"
        let trusted: @Sendable ([String]) throws -> Run = { arguments in
            try Self.tool("curl", ["--silent", "--show-error", "--cacert", "api.crt"] + arguments, in: folder)
        }
        #expect(try await node.start(isReady: { (try? trusted(["--fail", "\(url)/v1/status"]))?.status == 0 }), "the node did not answer over HTTPS: \(node.log())")
        #expect(node.log().contains("\"https://127.0.0.1:\(node.port)/v1/status\"") || node.log().contains("https://127.0.0.1:\(node.port)/v1/status"), "the log names the https address")

        // A registration submitted over HTTPS is committed.
        var registrar = TransactionBuilder(chainId: node.genesis.chainId, key: NodeProcess.registrar, nextNonce: 0)
        let resident = PrivateKey()
        try Data(registrar.register(resident.publicKey, role: .resident).canonicalBytes).write(to: folder.appendingPathComponent("register.bin"))
        let submitted = try trusted([
            "--fail", "--header", "Content-Type: application/octet-stream", "--data-binary", "@register.bin", "\(url)/v1/transactions?wait=commit",
        ])
        #expect(submitted.status == 0 && submitted.output.contains("\"committed\""), "\(submitted.output)")

        // A client that does not trust the certificate stops at the handshake (curl: 60).
        let untrusted = try Self.tool("curl", ["--silent", "--show-error", "\(url)/v1/status"], in: folder)
        #expect(untrusted.status == 60, "an untrusted certificate was accepted: \(untrusted.status) \(untrusted.output)")
        // Plain HTTP on the HTTPS port gets no answer.
        let plain = try? await node.client.get("v1/status")
        #expect(plain == nil || plain?.statusCode != 200, "plain HTTP was answered on the HTTPS port")
    }

    @Test func aKeyThatIsNotTheCertificatesStopsTheStart() async throws {
        let node = try NodeProcess(name: "api-tls-mismatch")
        defer { node.remove() }
        try Self.makeCertificate("api", in: node.folder)
        try Self.makeCertificate("other", in: node.folder)
        try Self.configure(node, certificate: "api.crt", key: "other.key")
        #expect(try await node.start() == false)
        #expect(try await node.waitForExit() != 0)
        #expect(node.log().contains("node.api_tls"), "\(node.log())")

        try Self.configure(node, certificate: "api.crt", key: "missing.key")
        #expect(try await node.start() == false)
        #expect(node.log().contains("node.api_tls") && node.log().contains("missing.key"), "\(node.log())")
    }

    @Test func aCertificateWithoutItsKeyIsAConfigurationError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-tls-config-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("node.toml").path
        try Data("""
        dataDirectory = "data"
        genesisFile = "genesis.json"
        validatorKeyFile = "validator.key.json"

        [api]
        host = "127.0.0.1"
        port = 8080
        tlsCertificateFile = "api.crt"
        """.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: NodeConfiguration.ConfigurationError(.invalidValue, "")) { try NodeConfiguration.load(path: path) }

        try Data("""
        dataDirectory = "data"
        genesisFile = "genesis.json"
        validatorKeyFile = "validator.key.json"

        [api]
        host = "127.0.0.1"
        port = 8080
        tlsCertificateFile = "tls/api.crt"
        tlsKeyFile = "/etc/kizuna/api.key"
        """.utf8).write(to: URL(fileURLWithPath: path))
        let loaded = try NodeConfiguration.load(path: path)
        #expect(loaded.api.tlsCertificateFile == folder.appendingPathComponent("tls/api.crt").standardizedFileURL.path, "relative to the file's folder")
        #expect(loaded.api.tlsKeyFile == "/etc/kizuna/api.key")
        #expect(loaded.api.usesTLS)
    }
}
