import Foundation
import KizunaCore
import KizunaWallet
import Testing

/// The operator's metrics port (issue 20, "Operator's view"): with a `[metrics]` section a real
/// node process serves `GET /metrics` there — with histograms of the block interval, the
/// mempool wait and the API's request durations per route — and no longer on the API port.
@Suite(.serialized) struct OperatorMetricsTests {
    @Test func histogramsAreServedOnTheOperatorPortOnly() async throws {
        let node = try NodeProcess(name: "metrics")
        defer { node.remove() }
        let metricsPort = try NodeProcess.freePort()
        let configuration = """
        {"dataDirectory": "data", "genesisFile": "genesis.json", "validatorKeyFile": "validator.key.json",
         "api": {"host": "127.0.0.1", "port": \(node.port)}, "blockIntervalMilliseconds": 20,
         "emptyBlockIntervalMilliseconds": 200, "logLevel": "info",
         "metrics": {"listen": "127.0.0.1:\(metricsPort)"}}
        """
        try Data(configuration.utf8).write(to: node.folder.appendingPathComponent("node.json"))
        #expect(try await node.start(), "the node did not start: \(node.log())")

        // Traffic: a registration and a charge (each committed), and status reads.
        let chainId = node.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: NodeProcess.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: NodeProcess.coinIssuer, nextNonce: 0)
        let resident = PrivateKey()
        for transaction in [registrar.register(resident.publicKey, role: .resident), issuer.charge(to: resident.publicKey, amount: 1_000, receiptId: "metrics-1")] {
            let reply = try await node.client.submit(transaction, waitForCommit: true)
            #expect(reply.json?["status"] as? String == "committed", "\(reply.json ?? [:])")
        }
        for _ in 0..<3 { _ = try await node.client.get("v1/status") }

        let operatorClient = NodeClient(baseURL: URL(string: "http://127.0.0.1:\(metricsPort)")!)
        var text = ""
        // Request metrics are recorded when the response body is written: poll (bounded).
        for _ in 0..<100 {
            text = try await operatorClient.get("metrics").text
            if text.contains("/v1/status") && text.contains("kizuna_mempool_wait_seconds_count 2") { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(text.contains("# TYPE kizuna_block_interval_seconds histogram"), "\(text)")
        #expect(text.contains("kizuna_block_interval_seconds_bucket{le=\"0.05\"}"))
        #expect(text.contains("# TYPE kizuna_commit_latency_seconds histogram"))
        #expect(text.contains("kizuna_mempool_wait_seconds_count 2"), "both committed transactions waited in the mempool")
        #expect(text.contains("kizuna_height "), "the counters and gauges are there too")
        // Both submissions were checked once, at the API; the store's cache answered state reads.
        #expect(text.contains("kizuna_signature_verifications_total{path=\"api\"} 2"), "\(text)")
        let cacheLine = text.split(separator: "\n").first { $0.hasPrefix("kizuna_state_value_cache_hits_total ") }
        #expect((cacheLine.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) > 0, "the state value cache's hits are not served: \(cacheLine ?? "none")")
        #expect(text.contains("kizuna_state_value_cache_entries "))
        let treeLine = text.split(separator: "\n").first { $0.hasPrefix("kizuna_state_tree_cache_hits_total ") }
        #expect((treeLine.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) > 0, "the state-tree cache's hits are not served: \(treeLine ?? "none")")
        let routeLines = text.split(separator: "\n").filter { $0.contains("/v1/status") && $0.contains("_bucket") }
        #expect(!routeLines.isEmpty, "no per-route request histogram: \(text)")
        #expect((try await operatorClient.get("health")).statusCode == 200)

        // Every metric the Grafana dashboard in Network/ queries is one the node serves.
        let dashboardPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Network/grafana/kizuna-node.json").path
        let dashboard = try String(contentsOfFile: dashboardPath, encoding: .utf8)
        let names = Set(dashboard.matches(of: /(kizuna|http_server)_[a-z_]+/).map { String($0.output.0) })
        #expect(names.count >= 8)
        for name in names.sorted() {
            #expect(text.contains(name), "the dashboard queries \(name), which the node does not serve")
        }

        // Not on the public API port any more.
        #expect((try await node.client.get("metrics")).statusCode == 404)
    }
}
