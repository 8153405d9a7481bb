import Foundation
import KizunaCore
import KizunaWallet
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import KizunaTestSupport
import Testing

/// Must-be-true 2 of issue 20 on real processes: four validator processes on 127.0.0.1 whose
/// every peer connection passes through a recording proxy. Transactions are submitted and
/// committed (so they crossed the links as gossip, proposals and blocks); the capture holds
/// none of their signatures or ids, not the chain id, and no validator's key.
@Suite(.serialized) struct EncryptedLinkProcessTests {
    @Test func theFourValidatorNetworkSendsNoTransactionOrChainIdInClear() async throws {
        let network = try await LocalNetworkProcesses.exclusive(name: "link")
        defer { network.removeAll() }
        let names = LocalNetworkProcesses.validatorNames
        var proxies: [RecordingProxy] = []
        for name in names {
            let proxy = RecordingProxy(target: network.peerPorts[name]!)
            network.peerDialPorts[name] = try await proxy.start()
            proxies.append(proxy)
        }
        let started = proxies
        defer { Task { for proxy in started { await proxy.stop() } } }
        try network.writeConfigurations()
        for name in names {
            #expect(try await network.start(name), "\(name) did not start: \(network.log(name))")
        }
        func height(_ name: String) async -> UInt64 { await network.status(name)?.height ?? 0 }
        #expect(await network.eventually { await height("city") >= 2 }, "no block committed: \(network.log("city"))")

        // Transactions submitted to different validators, each committed.
        let chainId = network.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: LocalNetworkProcesses.coinIssuer, nextNonce: 0)
        let residents = (0..<2).map { _ in PrivateKey() }
        var transactions: [SignedTransaction] = []
        var lastHeight = 0
        for (index, resident) in residents.enumerated() {
            transactions.append(registrar.register(resident.publicKey, role: .resident))
            transactions.append(issuer.charge(to: resident.publicKey, amount: 10_000, receiptId: "link-\(index)"))
        }
        var payer = TransactionBuilder(chainId: chainId, key: residents[0], nextNonce: 0)
        for (index, transaction) in transactions.enumerated() {
            // Each to another validator, once every validator holds the previous commit (a
            // node that has not seen nonce n yet refuses n + 1).
            let reply = try await network.client(names[index % names.count]).submit(transaction, waitForCommit: true)
            #expect(reply.json?["status"] as? String == "committed", "\(reply.json ?? [:])")
            lastHeight = max(lastHeight, reply.json?["height"] as? Int ?? 0)
            for name in names {
                #expect(await network.eventually { await height(name) >= UInt64(lastHeight) }, "\(name) did not reach \(lastHeight)")
            }
        }
        let send = payer.sign(.send(Send(to: residents[1].publicKey, amount: 1_234)))
        let sent = try await network.client("bank").submit(send, waitForCommit: true)
        #expect(sent.json?["status"] as? String == "committed", "\(sent.json ?? [:])")
        lastHeight = max(lastHeight, sent.json?["height"] as? Int ?? 0)
        transactions.append(send)
        // Every validator holds the blocks: they crossed the proxied links.
        for name in names {
            #expect(await network.eventually { await height(name) >= UInt64(lastHeight) }, "\(name) did not reach \(lastHeight)")
        }

        let capture = proxies.flatMap { $0.upstream + $0.downstream }
        #expect(capture.count > 20_000, "the proxies saw the peer traffic (\(capture.count) bytes)")
        #expect(!occurs(Array(chainId.utf8), in: capture), "the chain id crossed in clear")
        for transaction in transactions {
            #expect(!occurs(transaction.signature.bytes, in: capture), "transaction \(transaction.id) crossed in clear (its signature)")
            #expect(!occurs(transaction.id.bytes, in: capture), "transaction \(transaction.id)'s id crossed in clear")
            #expect(!occurs(Array(transaction.canonicalBytes.prefix(48)), in: capture), "transaction \(transaction.id)'s bytes crossed in clear")
        }
        for name in names {
            #expect(!occurs(LocalNetworkProcesses.key(name).publicKey.bytes, in: capture), "\(name)'s key crossed in clear")
        }
    }
}
