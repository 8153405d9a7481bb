import Foundation
import Testing
import KizunaChain
import KizunaConsensus
import KizunaCore
import KizunaNetwork
import KizunaNode
import KizunaWallet
import NIOCore
import NIOPosix

/// What the network acknowledged: a transaction committed at a height in a block.
actor AcknowledgementLog {
    private(set) var entries: [Acknowledgement] = []
    func add(_ entry: Acknowledgement) { entries.append(entry) }
    var count: Int { entries.count }
}

/// A stop flag the workload tasks poll.
actor StopFlag {
    private(set) var isSet = false
    func set() { isSet = true }
}

/// The network issue's must-be-true 1–3 on real processes: four validators on 127.0.0.1.
/// No wall-clock assertion: every wait is a bounded poll for a condition, and the one
/// "nothing happens" check (no commits without a quorum) compares heights across a pause.
@Suite("Four validators as real processes", .serialized)
struct NetworkProcessTests {
    /// Registers `count` residents and gives each coins, through node `via`.
    static func fund(_ network: LocalNetworkProcesses, residents: [PrivateKey], via name: String) async throws {
        let chainId = network.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.coinIssuer, nextNonce: 0)
        for resident in residents {
            let registered = try await network.client(name).submit(registrar.register(resident.publicKey, role: .resident), waitForCommit: true)
            #expect(registered.json?["status"] as? String == "committed", "registration: \(registered.json ?? [:])")
        }
        for (index, resident) in residents.enumerated() {
            let charged = try await network.client(name).submit(issuer.charge(to: resident.publicKey, amount: 50_000, receiptId: "fund-\(index)"), waitForCommit: true)
            #expect(charged.json?["status"] as? String == "committed", "charge: \(charged.json ?? [:])")
        }
    }

    /// Every resident sending to the next (`TransactionStream`, over whichever validator is up)
    /// until `stop` is set: the task ends when all have stopped. `counts` collects the nodes'
    /// answers, for a failure's message.
    static func ring(_ network: LocalNetworkProcesses, residents: [PrivateKey], log: AcknowledgementLog, stop: StopFlag, counts: StreamCounts = StreamCounts()) -> Task<Void, Never> {
        let nodes: [any StreamNode] = LocalNetworkProcesses.validatorNames.map { ProcessStreamNode(network: network, name: $0) }
        let stream = TransactionStream(nodes: nodes, chainId: network.genesis.chainId, log: log, counts: counts)
        return Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, resident) in residents.enumerated() {
                    let recipient = residents[(index + 1) % residents.count].publicKey
                    group.addTask { await stream.run(from: resident, to: recipient, stop: stop) }
                }
            }
        }
    }

    func height(_ network: LocalNetworkProcesses, _ name: String) async -> UInt64 {
        await network.status(name)?.height ?? 0
    }

    @Test func validatorsSurviveKillsCatchUpAndAgree() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "net")
        defer { network.removeAll() }
        let names = LocalNetworkProcesses.validatorNames
        for name in names {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        #expect(await network.eventually { await height(network, "city") >= 2 }, "no block committed: \(network.log("city"))")

        let residents = (0..<4).map { _ in PrivateKey() }
        try await Self.fund(network, residents: residents, via: "chamber")
        let log = AcknowledgementLog()
        let stop = StopFlag()
        let counts = StreamCounts()
        let workload = Self.ring(network, residents: residents, log: log, stop: stop, counts: counts)
        #expect(await network.eventually { await log.count >= 10 }, "the stream committed nothing")

        // SIGKILL one validator: the other three (3 of 4 > 2/3) keep committing.
        network.kill("bank")
        let heightAtFirstKill = await height(network, "city")
        let acknowledgedAtFirstKill = await log.count
        #expect(await network.eventually { await height(network, "city") >= heightAtFirstKill + 3 }, "three validators stopped committing")
        #expect(await network.eventually { await log.count >= acknowledgedAtFirstKill + 5 })

        // Restart it: it catches up and votes again (its precommit is in a later certificate).
        #expect(try await network.start("bank"), "bank did not restart: \(network.log("bank"))")
        let target = await height(network, "city")
        #expect(await network.eventually { await height(network, "bank") >= target }, "bank did not catch up: \(network.log("bank"))")
        #expect(await network.eventually {
            guard let json = try? await network.client("city").status().json, let validators = json["validators"] as? [[String: Any]] else { return false }
            return validators.contains { $0["name"] as? String == "bank" && $0["voting"] as? Bool == true }
        }, "bank does not vote again: \(network.log("bank"))")

        // SIGKILL two: 2 of 4 is no quorum — no new commits, and the two agree.
        network.kill("chamber")
        network.kill("operator")
        try await Task.sleep(nanoseconds: 2_000_000_000)  // let commits already in flight land
        let stalledCity = await height(network, "city")
        let stalledBank = await height(network, "bank")
        try await Task.sleep(nanoseconds: 3_000_000_000)
        #expect(await height(network, "city") == stalledCity, "committed without a quorum")
        #expect(await height(network, "bank") == stalledBank, "committed without a quorum")
        let shared = min(stalledCity, stalledBank)
        #expect(await network.header("city", at: shared)?.hash == network.header("bank", at: shared)?.hash, "diverged at \(shared)")

        // Restart them: commits resume.
        #expect(try await network.start("chamber"), "chamber did not restart: \(network.log("chamber"))")
        #expect(try await network.start("operator"), "operator did not restart: \(network.log("operator"))")
        #expect(await network.eventually { await height(network, "city") >= max(stalledCity, stalledBank) + 3 }, "commits did not resume: \(network.log("city"))")
        let acknowledgedAfterRestart = await log.count
        #expect(await network.eventually { await log.count >= acknowledgedAfterRestart + 5 }, "the stream did not resume; answers: \(counts.summary)")

        await stop.set()
        await workload.value

        // Every node has the same chain at every height they all hold, and every transaction
        // reported committed, in the block reported.
        var common = UInt64.max
        for name in names { common = min(common, await height(network, name)) }
        #expect(common > stalledCity)
        for checked in Set([1, common / 2, common]) where checked >= 1 {
            let reference = await network.header("city", at: checked)
            #expect(reference != nil)
            for name in names.dropFirst() {
                let other = await network.header(name, at: checked)
                #expect(other?.hash == reference?.hash && other?.stateRoot == reference?.stateRoot, "\(name) differs from city at \(checked)")
            }
        }
        let acknowledged = await log.entries
        print("network test: \(acknowledged.count) transactions acknowledged, common height \(common); answers: \(counts.summary)")
        #expect(acknowledged.count >= 20)
        for name in names {
            for entry in acknowledged {
                let json = try? await network.client(name).get("v1/transactions/\(entry.transactionId)").json
                #expect(json?["status"] as? String == "committed", "\(name) lost acknowledged transaction \(entry.transactionId)")
                #expect(json?["blockHash"] as? String == entry.blockHash, "\(name): \(entry.transactionId) in another block")
            }
        }

        // Must-be-true 2: a fresh observer syncs the whole chain and reaches the same state.
        #expect(try await network.start(LocalNetworkProcesses.observerName), "observer did not start: \(network.log("observer"))")
        let syncTarget = await height(network, "city")
        #expect(await network.eventually { await height(network, "observer") >= syncTarget }, "observer did not sync: \(network.log("observer"))")
        let observed = await network.header("observer", at: syncTarget)
        let reference = await network.header("city", at: syncTarget)
        #expect(observed != nil && observed?.hash == reference?.hash && observed?.stateRoot == reference?.stateRoot)
        // An observer makes no block: started empty, it got the chain's blocks from its peers by
        // block sync, which counts every block it applies. (Whether it logged "syncing" depends on
        // which message reached it first: a vote of a later height fetches blocks too.)
        let metrics = (try? await network.client(LocalNetworkProcesses.observerName).get("metrics").text) ?? ""
        let synced = Self.metricValue("kizuna_blocks_synced_total", in: metrics) ?? 0
        #expect(synced * 2 >= Double(syncTarget), "the observer synced \(synced) blocks to reach height \(syncTarget): \(network.log("observer"))")
        // The synced blocks' signatures were checked ahead of their execution (path "sync"), and
        // not again when the block was executed (path "proposal"): each committed transaction
        // is checked once at most.
        let checkedAhead = Self.metricValue("kizuna_signature_verifications_total{path=\"sync\"}", in: metrics) ?? 0
        let checkedAtExecution = Self.metricValue("kizuna_signature_verifications_total{path=\"proposal\"}", in: metrics) ?? 0
        let committedTransactions = Self.metricValue("kizuna_committed_transactions_total", in: metrics) ?? 0
        #expect(checkedAhead > 0, "no synced transaction was checked ahead: \(metrics)")
        #expect(checkedAhead + checkedAtExecution <= committedTransactions, "checked ahead \(checkedAhead) + at execution \(checkedAtExecution) > committed \(committedTransactions)")
        // Caught up, it judges submissions again: no `catchingUp` in its status (it was set
        // while it synced), and nothing left behind on its gauge.
        #expect(await network.eventually {
            let status = try? await network.client(LocalNetworkProcesses.observerName).get("v1/status").json
            return status != nil && status?["catchingUp"] == nil
        }, "the observer still says it is catching up: \(network.log("observer"))")
        let after = (try? await network.client(LocalNetworkProcesses.observerName).get("metrics").text) ?? ""
        #expect((Self.metricValue("kizuna_sync_blocks_behind", in: after) ?? 0) == 0)
        let chamberBeforeStop = await network.status("chamber")
        for name in names + [LocalNetworkProcesses.observerName] { network.stop(name) }

        // Audit issue, must-be-true 3: export a validator's chain and audit the export with
        // the real CLI; the audit's tip is the chain's.
        let exportPath = network.folder.appendingPathComponent("chain.kzx").path
        let genesisPath = network.folder.appendingPathComponent("genesis.json").path
        let exported = try Self.runCLI(["export", "--data", network.dataDirectory("chamber"), "--genesis", genesisPath, "--out", exportPath])
        #expect(exported.status == 0, "export failed: \(exported.output)")
        let audited = try Self.runCLI(["audit", "--genesis", genesisPath, "--export", exportPath])
        #expect(audited.status == 0, "audit of the four-node chain failed: \(audited.output)")
        #expect(audited.output.contains("ok: "), "\(audited.output)")
        // The export holds the block chamber reported as its tip before it stopped.
        let export = try ExportFile(path: exportPath)
        let reported = try #require(chamberBeforeStop)
        #expect(try export.tipHeight() >= reported.height)
        #expect(try export.block(at: reported.height).hash.hex == reported.tipHash)
    }

    /// The value of an unlabelled metric in a Prometheus text exposition.
    static func metricValue(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Runs `kizuna` with `arguments` to completion; returns its exit status and output.
    static func runCLI(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Must-be-true 3: garbage, an oversize frame, a key the network does not know, and a
    /// message signed by the wrong key each cost the sender its connection; the node logs it
    /// and keeps committing.
    @Test func hostilePeersAreDisconnectedAndLogged() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "hostile")
        defer { network.removeAll() }
        for name in LocalNetworkProcesses.validatorNames {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        #expect(await network.eventually { await height(network, "city") >= 2 })
        let port = network.peerPorts["city"]!

        // Garbage instead of the encrypted link's opening: a frame-like header, and a length
        // field far above any limit (frames and their limits live inside the link).
        for bytes in [[0, 0, 0, 9, 99, 1, 2, 3, 4, 5, 6, 7, 8], [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]] as [[UInt8]] {
            #expect(try Self.sendAndAwaitClose(bytes, port: port), "the node kept a garbage connection open")
        }

        // A key outside the validator set and observer list.
        let stranger = PrivateKey()
        let refusedEvents = try await Self.connectAsPeer(key: stranger, chainId: network.genesis.chainId, port: port, cityKey: LocalNetworkProcesses.key("city").publicKey, send: nil)
        #expect(!refusedEvents.connected, "a stranger's key was accepted")

        // An allowed key (the observer's) sending a vote that claims to be chamber's but is
        // signed by another key.
        let forged = Vote(UnsignedVote(step: .prevote, height: 1_000, round: 0, blockHash: nil, validator: LocalNetworkProcesses.key("chamber").publicKey),
                          signature: stranger.sign([1, 2, 3]))
        let forgedEvents = try await Self.connectAsPeer(key: LocalNetworkProcesses.observerKey, chainId: network.genesis.chainId, port: port, cityKey: LocalNetworkProcesses.key("city").publicKey,
                                                        send: PeerMessage.consensus(.vote(forged)).frame)
        #expect(forgedEvents.connected, "the observer key was refused")
        #expect(forgedEvents.disconnected, "a forged vote did not cost the peer its connection")

        let log = network.log("city")
        #expect(log.contains("peer.link_malformed"), "garbage instead of the link's opening not logged")
        #expect(log.contains("peer.unknown_key"), "unknown key not logged")
        #expect(log.contains("peer.bad_signature"), "forged vote not logged")
        let before = await height(network, "city")
        #expect(await network.eventually { await height(network, "city") >= before + 2 }, "the node stopped committing")
        #expect(network.isRunning("city"))
    }

    /// Writes raw bytes to 127.0.0.1:`port` and reads until the peer closes (bounded by a
    /// receive timeout); true if it closed.
    static func sendAndAwaitClose(_ bytes: [UInt8], port: Int) throws -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let connected = LocalPorts.withLoopbackAddress(port: port) { connect(descriptor, $0, $1) }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<100 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }  // orderly close
            if count < 0 { return errno == ECONNRESET }
        }
        return false
    }

    /// Connects to the node with a real handshake as `key`; sends `send` once authenticated;
    /// reports whether it authenticated and whether the node then closed the connection.
    static func connectAsPeer(key: PrivateKey, chainId: String, port: Int, cityKey: PublicKey, send: Frame?) async throws -> (connected: Bool, disconnected: Bool) {
        let events = AsyncStream<PeerNetworkEvent>.makeStream()
        let configuration = PeerNetworkConfiguration(
            handshake: HandshakeConfiguration(chainId: chainId, privateKey: key, allowedKeys: [cityKey]),
            listenHost: nil, listenPort: 0, peers: [PeerAddress(name: "city", host: "127.0.0.1", port: port, publicKey: cityKey)],
            dialsEveryPeer: true, reconnectDelayMillisecondsMin: 60_000, reconnectDelayMillisecondsMax: 60_000)
        let peerNetwork = PeerNetwork(configuration: configuration) { events.continuation.yield($0) }
        try await peerNetwork.start()
        var connected = false
        var disconnected = false
        let watchdog = Task {
            try? await Task.sleep(nanoseconds: 20_000_000_000)
            events.continuation.finish()
        }
        for await event in events.stream {
            switch event {
            case .connected(let peer, _):
                connected = true
                if let send { peerNetwork.send(send, to: peer) } else { events.continuation.finish() }
            case .disconnected:
                disconnected = true
                events.continuation.finish()
            case .refused, .dialFailed:
                if !connected { events.continuation.finish() }
            case .frame, .outboundDropped:
                break
            }
        }
        watchdog.cancel()
        await peerNetwork.stop()
        return (connected, disconnected)
    }
}
