import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import KizunaChain
import KizunaCore
import KizunaRocksDB
import KizunaAudit
import KizunaWallet


/// Issue 7: `kizuna audit --remote` — the chain read from a real node process's API
/// (`GET /v1/blocks/{height}/canonical`) with an auditor's token, and verified as strictly
/// as a data folder.
@Suite("Audit from a remote node's API", .serialized)
struct RemoteAuditTests {
    static let auditorToken = "remote-audit-auditor-token-0123456789"
    static let memberToken = "remote-audit-member-token-0123456789"

    /// A node on 127.0.0.1 with an auditor and a member credential, no empty blocks (so the
    /// chain stands still while it is audited), and a few blocks of transactions: registrations,
    /// charges, a payment, a batch of sends (several in one block), a redemption.
    /// Returns the node and its height.
    static func populatedNode(_ name: String) async throws -> (NodeProcess, UInt64) {
        let node = try NodeProcess(name: name)
        let configurationURL = node.folder.appendingPathComponent("node.json")
        var configuration = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configurationURL)) as? [String: Any])
        configuration["access"] = ["credentials": [
            ["name": "city-audit-office", "role": "auditor", "tokenSha256": Hash.sha256(Array(auditorToken.utf8)).hex],
            ["name": "chamber", "role": "member", "tokenSha256": Hash.sha256(Array(memberToken.utf8)).hex],
        ]]
        configuration["emptyBlockIntervalMilliseconds"] = 3_600_000
        try JSONSerialization.data(withJSONObject: configuration).write(to: configurationURL)
        #expect(try await node.start(), "node did not start: \(node.log())")

        let chainId = node.genesis.chainId
        let one = DevelopmentKeys.privateKey("resident-1")
        let two = DevelopmentKeys.privateKey("resident-2")
        let shop = DevelopmentKeys.privateKey("merchant-1")
        var registrar = TransactionBuilder(chainId: chainId, key: NodeProcess.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: NodeProcess.coinIssuer, nextNonce: 0)
        var payer = TransactionBuilder(chainId: chainId, key: one, nextNonce: 0)
        var merchant = TransactionBuilder(chainId: chainId, key: shop, nextNonce: 0)
        for transaction in [
            registrar.register(one.publicKey, role: .resident),
            registrar.register(two.publicKey, role: .resident),
            registrar.register(shop.publicKey, role: .merchant, merchantCategory: "bakery"),
            issuer.charge(to: one.publicKey, amount: 20_000, channel: .chargeMachine, receiptId: "remote-1"),
            payer.pay(merchant: shop.publicKey, amount: 1_500),
        ] {
            let reply = try await node.client.submit(transaction, waitForCommit: true)
            #expect(reply.json?["status"] as? String == "committed", "\(reply.text)")
        }
        // Several sends queued at once: blocks with more than one transaction.
        for _ in 0..<4 {
            let reply = try await node.client.submit(payer.send(to: two.publicKey, amount: 100), waitForCommit: false)
            #expect(reply.statusCode == 202, "\(reply.text)")
        }
        for transaction in [payer.send(to: two.publicKey, amount: 100), merchant.redeem(reference: "remote-payout")] {
            let reply = try await node.client.submit(transaction, waitForCommit: true)
            #expect(reply.json?["status"] as? String == "committed", "\(reply.text)")
        }
        let status = try #require(try await node.client.get("v1/status").json)
        return (node, UInt64(try #require(status["height"] as? Int)))
    }

    static func remote(_ node: NodeProcess, token: String?) -> RemoteChainSource {
        RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(node.port)")!, token: token)
    }

    /// The audit's failure, or nil if it passed.
    static func failure(of source: any ChainSource, genesis: Genesis) -> ChainAuditor.Failure? {
        do {
            _ = try ChainAuditor(genesis: genesis, source: source).run()
            return nil
        } catch {
            return error
        }
    }

    /// Runs `kizuna audit` and returns its exit status and standard output.
    static func runAudit(_ arguments: [String], environment: [String: String] = [:], in folder: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = ["audit"] + arguments
        var inherited = ProcessInfo.processInfo.environment
        inherited["KIZUNA_TOKEN"] = nil
        process.environment = inherited.merging(environment) { _, new in new }
        let outputURL = folder.appendingPathComponent("audit-\(UInt64.random(in: 0...UInt64.max)).out")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "")
    }

    @Test func theRemoteAuditEqualsTheDataFolderAudit() async throws {
        let (node, height) = try await Self.populatedNode("remote-audit")
        defer { node.remove() }
        #expect(height >= 5)

        // The auditor's view over HTTP: its own genesis, an auditor's token.
        let remote = Self.remote(node, token: Self.auditorToken)
        let (summary, _) = try ChainAuditor(genesis: node.genesis, source: remote).run()
        #expect(summary.blocks == height)

        // A member's token reads the same bytes; the record of the tip is the export's.
        let member = node.client.authenticated(.bearer(Self.memberToken))
        let tipRecord = try await member.get("v1/blocks/\(height)/canonical")
        #expect(tipRecord.statusCode == 200)
        #expect(tipRecord.headers["content-type"] == "application/octet-stream")
        #expect([UInt8](tipRecord.body) == (try remote.record(at: height)))
        #expect(try await member.get("v1/blocks/\(height + 1)/canonical").problemCode == "api.no_such_block")
        #expect(try await member.get("v1/blocks/0/canonical").problemCode == "api.no_such_block")
        #expect(try await member.get("v1/blocks/x/canonical").problemCode == "api.bad_height")

        // The CLI, with the token in a file (mode 0600) and in the environment.
        let tokenFile = node.folder.appendingPathComponent("auditor.token")
        try Data((Self.auditorToken + "\n").utf8).write(to: tokenFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)
        let genesisFile = node.folder.appendingPathComponent("genesis.json").path
        let url = "http://127.0.0.1:\(node.port)"
        let viaFile = try Self.runAudit(["--genesis", genesisFile, "--remote", url, "--token-file", tokenFile.path], in: node.folder)
        #expect(viaFile.status == 0, "\(viaFile.output)")
        #expect(viaFile.output.contains("ok: \(height) blocks, \(summary.transactions) transactions, tip \(summary.tipHash), state root \(summary.stateRoot)"), "\(viaFile.output)")
        let viaEnvironment = try Self.runAudit(["--genesis", genesisFile, "--remote", url], environment: ["KIZUNA_TOKEN": Self.auditorToken], in: node.folder)
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.output)")
        #expect(viaEnvironment.output.contains("tip \(summary.tipHash)"), "\(viaEnvironment.output)")
        let twoSources = try Self.runAudit(["--genesis", genesisFile, "--remote", url, "--data", node.dataDirectory], in: node.folder)
        #expect(twoSources.status != 0)
        #expect(twoSources.output.contains("exactly one source"), "\(twoSources.output)")
        node.stop()

        // The same chain from the data folder, with the stored state compared.
        let store = try RocksDBStore(path: node.dataDirectory + "/chain", readOnly: true)
        defer { store.close() }
        let local = try BlockStore(store: store, genesis: node.genesis)
        let (reference, _) = try ChainAuditor(genesis: node.genesis, source: local).run(storedState: store)
        #expect(reference.storedStateCompared)
        #expect(summary.chainId == reference.chainId)
        #expect(summary.genesisHash == reference.genesisHash)
        #expect(summary.blocks == reference.blocks)
        #expect(summary.transactions == reference.transactions)
        #expect(summary.transactions >= 11)
        #expect(summary.tipHash == reference.tipHash)
        #expect(summary.tipTime == reference.tipTime)
        #expect(summary.stateRoot == reference.stateRoot)
        #expect(summary.invariants == reference.invariants)
        // The served record is the export file's per-block record of the stored block.
        var expected = Encoder()
        expected.encodeBytes((try local.block(at: height) as Block).canonicalBytes)
        expected.encodeBytes((try local.certificate(at: height) as CommitCertificate).canonicalBytes)
        #expect([UInt8](tipRecord.body) == expected.bytes)
    }

    @Test func withoutTheRightCredentialsTheAuditIsRefused() async throws {
        let (node, _) = try await Self.populatedNode("remote-audit-refused")
        defer { node.remove() }

        // No token: the first block read fails with the node's 401, named in the failure.
        let anonymous = try #require(Self.failure(of: Self.remote(node, token: nil), genesis: node.genesis))
        #expect(anonymous.height == 1)
        #expect(anonymous.check == "read")
        #expect(anonymous.detail.contains("HTTP 401 auth.required"), "\(anonymous)")
        #expect(anonymous.detail.contains("remote.http_401: block 1"), "\(anonymous)")
        // A token the node does not know.
        let stranger = try #require(Self.failure(of: Self.remote(node, token: "not-a-configured-token"), genesis: node.genesis))
        #expect(stranger.height == 1)
        #expect(stranger.detail.contains("HTTP 401 auth.bad_token"), "\(stranger)")
        // A resident's signed request is not a member's or auditor's: 403.
        let resident = DevelopmentKeys.privateKey("resident-1")
        let signed = node.client.authenticated(.signed(RequestSigner(chainId: node.genesis.chainId, key: resident)))
        let forbidden = try await signed.get("v1/blocks/1/canonical")
        #expect(forbidden.statusCode == 403)
        #expect(forbidden.problemCode == "auth.forbidden")
        // Access is checked before existence.
        #expect(try await node.client.get("v1/blocks/999999/canonical").statusCode == 401)

        // The CLI says so and exits 1.
        let genesisFile = node.folder.appendingPathComponent("genesis.json").path
        let refused = try Self.runAudit(["--genesis", genesisFile, "--remote", "http://127.0.0.1:\(node.port)"], in: node.folder)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("AUDIT FAILED at block 1: read: remote.http_401: block 1: HTTP 401 auth.required"), "\(refused.output)")
    }

    /// Serves what the node serves, with one record changed: as a node that lies would.
    struct TamperingRelay: ChainSource {
        let remote: RemoteChainSource
        let height: UInt64
        let change: @Sendable ([UInt8]) -> [UInt8]

        var description: String { "tampering relay of \(remote.description)" }
        func tipHeight() throws -> UInt64 { try remote.tipHeight() }
        func record(at height: UInt64) throws -> [UInt8] {
            let bytes = try remote.record(at: height)
            return height == self.height ? change(bytes) : bytes
        }
        func block(at height: UInt64) throws -> Block { try RemoteChainSource.decodeRecord(record(at: height), height: height).block }
        func certificate(at height: UInt64) throws -> CommitCertificate { try RemoteChainSource.decodeRecord(record(at: height), height: height).certificate }
    }

    @Test func aTamperedByteFromTheNodeIsCaughtAtItsHeight() async throws {
        let (node, height) = try await Self.populatedNode("remote-audit-tamper")
        defer { node.remove() }
        let remote = Self.remote(node, token: Self.auditorToken)
        #expect(Self.failure(of: remote, genesis: node.genesis) == nil)

        var random = SplitMix64(seed: 2_027)
        for round in 0..<40 {
            let target = 1 + random.next() % height
            let record = try remote.record(at: target)
            let offset = Int(random.next() % UInt64(record.count))
            let mask = UInt8(1 + random.next() % 255)
            let relay = TamperingRelay(remote: remote, height: target) { bytes in
                var changed = bytes
                changed[offset] ^= mask
                return changed
            }
            let failure = Self.failure(of: relay, genesis: node.genesis)
            #expect(failure?.height == target, "round \(round): byte \(offset) of block \(target)'s record ^ \(mask): \(failure.map { "\($0)" } ?? "not detected")")
        }
        // A byte added after the record, and a record cut short.
        let target = height / 2 + 1
        let appended = Self.failure(of: TamperingRelay(remote: remote, height: target) { $0 + [0] }, genesis: node.genesis)
        #expect(appended?.height == target && appended?.check == "read", "\(appended.map { "\($0)" } ?? "not detected")")
        #expect(appended?.detail.contains("trailing") == true, "\(appended.map { "\($0)" } ?? "")")
        let truncated = Self.failure(of: TamperingRelay(remote: remote, height: target) { Array($0.dropLast()) }, genesis: node.genesis)
        #expect(truncated?.height == target && truncated?.check == "read", "\(truncated.map { "\($0)" } ?? "not detected")")
        // Another block's record served in place of this one.
        let swapped = try remote.record(at: target + 1 <= height ? target + 1 : target - 1)
        let replaced = Self.failure(of: TamperingRelay(remote: remote, height: target) { _ in swapped }, genesis: node.genesis)
        #expect(replaced?.height == target, "\(replaced.map { "\($0)" } ?? "not detected")")

        // The same over HTTP: a fake node on 127.0.0.1 serves the real records, one byte changed.
        var records: [String: [UInt8]] = [:]
        for h in 1...height { records["/v1/blocks/\(h)/canonical"] = try remote.record(at: h) }
        records["/v1/blocks/\(target)/canonical"]![40] ^= 0x01
        let served = records
        let fake = try FakeHTTPServer { path in
            if path == "/v1/status" { return .json("{\"height\": \(height)}") }
            if let record = served[path] { return .init(status: 200, contentType: "application/octet-stream", body: record) }
            return .json("{\"code\": \"api.no_such_block\"}", status: 404)
        }
        defer { fake.stop() }
        let lying = RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(fake.port)")!, token: Self.auditorToken)
        let overHTTP = Self.failure(of: lying, genesis: node.genesis)
        #expect(overHTTP?.height == target, "\(overHTTP.map { "\($0)" } ?? "not detected")")
    }

    @Test func transientErrorsAreRetriedAndBadAnswersRefused() throws {
        // 503 twice, then the status: the source waits and tries again.
        let statusCalls = Counter()
        let flaky = try FakeHTTPServer { path in
            guard path == "/v1/status" else { return .json("{}", status: 404) }
            if statusCalls.increment() <= 2 { return .json("{\"code\": \"api.busy\", \"detail\": \"busy\"}", status: 503, headers: ["Retry-After: 0"]) }
            return .json("{\"height\": 0}")
        }
        defer { flaky.stop() }
        var source = RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(flaky.port)")!, token: "t")
        source.retryDelayMilliseconds = 1
        #expect(try source.tipHeight() == 0)
        #expect(statusCalls.value == 3)
        let exhausted = Counter()
        let busy = try FakeHTTPServer { _ in
            _ = exhausted.increment()
            return .json("{\"code\": \"api.busy\", \"detail\": \"busy\"}", status: 503, headers: ["Retry-After: 0"])
        }
        defer { busy.stop() }
        var busySource = RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(busy.port)")!, token: "t")
        busySource.attempts = 2
        busySource.retryDelayMilliseconds = 1
        #expect(throws: RemoteChainSource.Failure.self) { try busySource.tipHeight() }
        #expect(exhausted.value == 2)

        // A redirect is not followed (the token goes nowhere else), a body of the wrong type
        // or over the size limit is refused, each named with its height and status.
        let stolen = Counter()
        let odd = try FakeHTTPServer { path in
            switch path {
            case "/v1/status": return .json("{\"height\": 3}")
            case "/v1/blocks/1/canonical": return .init(status: 302, contentType: "text/plain", body: [], headers: ["Location: /elsewhere"])
            case "/v1/blocks/2/canonical": return .init(status: 200, contentType: "text/html", body: Array("<html></html>".utf8))
            case "/v1/blocks/3/canonical": return .init(status: 200, contentType: "application/octet-stream", body: [], headers: ["Content-Length: \(RemoteChainSource.recordBytesMax + 1)"])
            default:
                _ = stolen.increment()
                return .json("{}", status: 404)
            }
        }
        defer { odd.stop() }
        let oddSource = RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(odd.port)")!, token: "t")
        #expect(try oddSource.tipHeight() == 3)
        for (height, text) in [(UInt64(1), "remote.http_302: block 1: HTTP 302"), (2, "remote.bad_answer: block 2 (HTTP 200): the answer is text/html"), (3, "remote.bad_answer: block 3: the answer is larger than")] {
            do {
                _ = try oddSource.block(at: height)
                Issue.record("block \(height) was accepted")
            } catch {
                #expect("\(error)".contains(text), "\(error)")
            }
        }
        #expect(stolen.value == 0, "the redirect was followed")
    }

    @Test func anUnreachableNodeFailsAfterBoundedRetries() throws {
        var remote = RemoteChainSource(baseURL: URL(string: "http://127.0.0.1:\(try NodeProcess.freePort())")!, token: Self.auditorToken)
        remote.attempts = 3
        remote.retryDelayMilliseconds = 1
        let failure = try #require(Self.failure(of: remote, genesis: APIFixture.makeGenesis()))
        #expect(failure.height == 0 && failure.check == "source")
        #expect(failure.detail.contains("remote.unreachable: the status"), "\(failure)")
        #expect(failure.detail.contains("(3 attempts)"), "\(failure)")
    }
}

extension RemoteAuditTests {
/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// Adds one and returns the new count.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 for a node that answers oddly: one connection at a
/// time on its own thread, one request per connection (`Connection: close`), the answer chosen
/// by path.
final class FakeHTTPServer: @unchecked Sendable {
    struct Answer {
        var status: Int
        var contentType: String
        var body: [UInt8]
        var headers: [String] = []

        static func json(_ text: String, status: Int = 200, headers: [String] = []) -> Answer {
            Answer(status: status, contentType: "application/json", body: Array(text.utf8), headers: headers)
        }
    }

    let port: Int
    private let descriptor: Int32
    private let answer: @Sendable (String) -> Answer

    init(answer: @escaping @Sendable (String) -> Answer) throws {
        self.answer = answer
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// Stops accepting (the serving thread ends).
    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    private func serve() {
        while true {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.containsHeaderEnd, request.count < 65_536 {
                let count = recv(connection, &buffer, buffer.count, 0)
                if count <= 0 { break }
                request += buffer[0..<count]
            }
            let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
            let parts = line.split(separator: " ")
            let reply = answer(parts.count >= 2 ? String(parts[1]) : "/")
            var head = "HTTP/1.1 \(reply.status) X\r\nContent-Type: \(reply.contentType)\r\nConnection: close\r\n"
            if !reply.headers.contains(where: { $0.lowercased().hasPrefix("content-length:") }) { head += "Content-Length: \(reply.body.count)\r\n" }
            for header in reply.headers { head += header + "\r\n" }
            let bytes = Array((head + "\r\n").utf8) + reply.body
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count <= 0 { break }
                sent += count
            }
            close(connection)
        }
    }
}
}

private extension [UInt8] {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 { return true }
        return false
    }
}
