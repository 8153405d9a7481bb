import Foundation
import KizunaCore
import KizunaWallet
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

// The recording proxy is the one of KizunaNetworkTests/SecureLinkTests.swift (test targets
// cannot share sources); keep the two alike.

/// A TCP proxy on 127.0.0.1 that forwards to `target` and records every byte it forwards,
/// each direction apart; optionally it flips the last byte of the first chunk the dialer
/// sends at or past `tamperAtOffset` (an attacker on the path altering a record).
final class RecordingProxy: Sendable {
    let target: Int
    let tamperAtOffset: Int?
    private let state = NIOLockedValueBox<(upstream: [UInt8], downstream: [UInt8], tampered: Bool, channel: (any Channel)?)>(([], [], false, nil))

    init(target: Int, tamperAtOffset: Int? = nil) {
        self.target = target
        self.tamperAtOffset = tamperAtOffset
    }

    /// Bytes from the dialing node to the listening one.
    var upstream: [UInt8] { state.withLockedValue { $0.upstream } }
    /// Bytes from the listening node to the dialing one.
    var downstream: [UInt8] { state.withLockedValue { $0.downstream } }
    var tampered: Bool { state.withLockedValue { $0.tampered } }

    /// Records (and perhaps alters) a chunk on its way; returns what to forward.
    func pass(_ buffer: ByteBuffer, upstream: Bool) -> ByteBuffer {
        var bytes = Array(buffer.readableBytesView)
        state.withLockedValue { state in
            if upstream {
                if let tamperAtOffset, !state.tampered, state.upstream.count >= tamperAtOffset, !bytes.isEmpty {
                    bytes[bytes.count - 1] ^= 0x01
                    state.tampered = true
                }
                state.upstream += bytes
            } else {
                state.downstream += bytes
            }
        }
        return ByteBuffer(bytes: bytes)
    }

    final class Forward: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let other: any Channel
        let proxy: RecordingProxy
        let isUpstream: Bool

        init(other: any Channel, proxy: RecordingProxy, isUpstream: Bool) {
            self.other = other
            self.proxy = proxy
            self.isUpstream = isUpstream
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            other.writeAndFlush(proxy.pass(unwrapInboundIn(data), upstream: isUpstream), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            other.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// Listens on 127.0.0.1 port 0; returns the port.
    func start() async throws -> Int {
        let target = target
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] inbound in
                ClientBootstrap(group: inbound.eventLoop).connect(host: "127.0.0.1", port: target).flatMapThrowing { outbound in
                    try inbound.pipeline.syncOperations.addHandler(Forward(other: outbound, proxy: self, isUpstream: true))
                    try outbound.pipeline.syncOperations.addHandler(Forward(other: inbound, proxy: self, isUpstream: false))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        state.withLockedValue { $0.channel = channel }
        return channel.localAddress!.port!
    }

    func stop() async {
        let channel = state.withLockedValue { $0.channel }
        try? await channel?.close()
    }
}

/// Whether `needle` occurs in `haystack`.
func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}

/// Must-be-true 2 of issue 20 on real processes: four validator processes on 127.0.0.1 whose
/// every peer connection passes through a recording proxy. Transactions are submitted and
/// committed (so they crossed the links as gossip, proposals and blocks); the capture holds
/// none of their signatures or ids, not the chain id, and no validator's key.
@Suite(.serialized) struct EncryptedLinkProcessTests {
    @Test func theFourValidatorNetworkSendsNoTransactionOrChainIdInClear() async throws {
        let network = try LocalNetworkProcesses(name: "link")
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
