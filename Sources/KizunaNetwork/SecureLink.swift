public import KizunaCore
public import NIOCore
import Crypto

/// Limits and constants of the encrypted peer link (ADR 0008, `docs/network.md` §1).
public enum SecureLinkLimits {
    /// The link's opening bytes: "KZLINK01" then the 32-byte X25519 ephemeral key.
    public static let magic: [UInt8] = Array("KZLINK01".utf8)
    public static let preambleBytes = 8 + 32
    /// Largest plaintext in one record; larger writes are split.
    public static let recordPlaintextBytesMax = 64 * 1024
    /// The Poly1305 tag after each record's ciphertext.
    public static let tagBytes = 16
    /// The record's 4-byte big-endian length field (of ciphertext plus tag).
    public static let lengthFieldBytes = 4
    /// The channel binding each side's handshake proof signs.
    public static let channelBindingBytes = 32
}

/// The keys of one encrypted link, derived from the two ephemeral X25519 keys.
///
/// `HKDF-SHA256(ikm: X25519(own, peer), salt: "KIZUNA/LINK/V1" 00, info: low ‖ high, 96 bytes)`
/// where low and high are the two ephemeral public keys in byte order, gives the key for
/// records from low's owner to high's (32), the key for the other direction (32), and the
/// channel binding (32) that both handshake proofs sign, so a proof is good on this link only.
public struct SecureLinkKeys: Sendable {
    public let sendKey: SymmetricKey
    public let receiveKey: SymmetricKey
    public let channelBinding: [UInt8]

    /// - Throws: `peer.link_malformed` when the peer's key is not a usable X25519 key or
    ///   equals ours (a reflected preamble).
    public init(own: Curve25519.KeyAgreement.PrivateKey, peerPublicKey: [UInt8]) throws(PeerError) {
        let ownPublic = Array(own.publicKey.rawRepresentation)
        guard peerPublicKey != ownPublic else {
            throw PeerError(.linkMalformed, "the peer sent back this node's own ephemeral key")
        }
        let shared: SharedSecret
        do {
            let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerPublicKey)
            shared = try own.sharedSecretFromKeyAgreement(with: peer)
        } catch {
            throw PeerError(.linkMalformed, "the peer's ephemeral key is not a usable X25519 key")
        }
        let ownIsLow = ownPublic.lexicographicallyPrecedes(peerPublicKey)
        let info = ownIsLow ? ownPublic + peerPublicKey : peerPublicKey + ownPublic
        let material = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: HashDomain.peerLink.prefix, sharedInfo: info, outputByteCount: 96)
        let bytes = material.withUnsafeBytes { Array($0) }
        let lowToHigh = SymmetricKey(data: bytes[0..<32])
        let highToLow = SymmetricKey(data: bytes[32..<64])
        sendKey = ownIsLow ? lowToHigh : highToLow
        receiveKey = ownIsLow ? highToLow : lowToHigh
        channelBinding = Array(bytes[64..<96])
    }
}

/// Seals and opens the records of one direction of a link: ChaCha20-Poly1305 with a
/// 96-bit nonce of four zero bytes and a big-endian 64-bit record counter, and the record's
/// length field as associated data. A pure value; the counter never repeats a nonce.
public struct SecureLinkCipher: Sendable {
    private let key: SymmetricKey
    private var counter: UInt64 = 0

    public init(key: SymmetricKey) { self.key = key }

    private mutating func nextNonce() throws(PeerError) -> ChaChaPoly.Nonce {
        guard counter < UInt64.max else { throw PeerError(.linkMalformed, "the record counter is exhausted") }
        var bytes = [UInt8](repeating: 0, count: 4)
        withUnsafeBytes(of: counter.bigEndian) { bytes.append(contentsOf: $0) }
        counter += 1
        return try! ChaChaPoly.Nonce(data: bytes)
    }

    /// Appends the records carrying `plaintext` (split at `recordPlaintextBytesMax`).
    public mutating func seal(_ plaintext: ByteBuffer, into out: inout ByteBuffer) throws(PeerError) {
        var remaining = plaintext
        repeat {
            let take = min(remaining.readableBytes, SecureLinkLimits.recordPlaintextBytesMax)
            let chunk = remaining.readSlice(length: take)!
            let length = UInt32(take + SecureLinkLimits.tagBytes)
            var lengthBytes = [UInt8]()
            withUnsafeBytes(of: length.bigEndian) { lengthBytes.append(contentsOf: $0) }
            let nonce = try nextNonce()
            let box: ChaChaPoly.SealedBox
            do {
                box = try chunk.withUnsafeReadableBytes { try ChaChaPoly.seal($0, using: key, nonce: nonce, authenticating: lengthBytes) }
            } catch {
                throw PeerError(.linkMalformed, "sealing a record failed: \(error)")
            }
            out.writeBytes(lengthBytes)
            out.writeBytes(box.ciphertext)
            out.writeBytes(box.tag)
        } while remaining.readableBytes > 0
    }

    /// Opens one whole record off the front of `buffer`, or returns nil if it is not all there.
    /// - Throws: `peer.link_malformed` for an impossible length, `peer.link_tampered` when the
    ///   record does not authenticate (altered, reordered, replayed or forged).
    public mutating func open(from buffer: inout ByteBuffer) throws(PeerError) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else { return nil }
        guard length > UInt32(SecureLinkLimits.tagBytes), length <= UInt32(SecureLinkLimits.recordPlaintextBytesMax + SecureLinkLimits.tagBytes) else {
            throw PeerError(.linkMalformed, "record length \(length) is outside \(SecureLinkLimits.tagBytes + 1)…\(SecureLinkLimits.recordPlaintextBytesMax + SecureLinkLimits.tagBytes)")
        }
        guard buffer.readableBytes >= SecureLinkLimits.lengthFieldBytes + Int(length) else { return nil }
        let lengthBytes = buffer.readBytes(length: SecureLinkLimits.lengthFieldBytes)!
        let ciphertext = buffer.readBytes(length: Int(length) - SecureLinkLimits.tagBytes)!
        let tag = buffer.readBytes(length: SecureLinkLimits.tagBytes)!
        let nonce = try nextNonce()
        do {
            let box = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
            let plaintext = try ChaChaPoly.open(box, using: key, authenticating: lengthBytes)
            return ByteBuffer(bytes: plaintext)
        } catch {
            throw PeerError(.linkTampered, "record \(counter - 1) does not authenticate: the bytes were altered on the way, or the sender does not hold this link's key")
        }
    }
}

/// Fired up the pipeline once the link's keys are agreed: the handshake starts then, and its
/// proofs sign `channelBinding`.
public struct SecureLinkEstablishedEvent: Hashable, Sendable {
    public let channelBinding: [UInt8]
}

/// The encrypted link below the frame codec (ADR 0008): on connect each side sends
/// "KZLINK01" and a fresh X25519 key; after both are in, every byte either way travels in
/// ChaCha20-Poly1305 records. Nothing above it — hello, chain id, keys, transactions — is
/// ever written in clear. Bytes written before the keys are agreed wait (the handshake
/// handler writes only its hello then). A record that does not authenticate closes the
/// connection with `peer.link_tampered`.
public final class SecureLinkHandler: ChannelDuplexHandler, StartsWhenChannelActive {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingPreamble
        case established
        case failed
    }

    private let ephemeral = Curve25519.KeyAgreement.PrivateKey()
    private var state = State.awaitingPreamble
    // Kept outside `state` so that a write made while a record is being delivered (the
    // handshake answering a hello) advances the one send counter.
    private var sendCipher: SecureLinkCipher?
    private var receiveCipher: SecureLinkCipher?
    private var inbound = ByteBuffer()
    private var pending: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false
    private var started = false

    public init() {}

    /// Sends this side's preamble as soon as the connection is up.
    public func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        var preamble = context.channel.allocator.buffer(capacity: SecureLinkLimits.preambleBytes)
        preamble.writeBytes(SecureLinkLimits.magic)
        preamble.writeBytes(ephemeral.publicKey.rawRepresentation)
        context.writeAndFlush(wrapOutboundOut(preamble), promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        do {
            if case .awaitingPreamble = state {
                guard inbound.readableBytes >= SecureLinkLimits.preambleBytes else {
                    // Refuse a wrong magic as soon as its bytes are in, not after 40.
                    let seen = min(inbound.readableBytes, SecureLinkLimits.magic.count)
                    guard inbound.getBytes(at: inbound.readerIndex, length: seen)! == Array(SecureLinkLimits.magic[0..<seen]) else {
                        throw PeerError(.linkMalformed, "the peer does not speak Kizuna's encrypted link (no KZLINK01 preamble)")
                    }
                    return
                }
                guard inbound.readBytes(length: SecureLinkLimits.magic.count)! == SecureLinkLimits.magic else {
                    throw PeerError(.linkMalformed, "the peer does not speak Kizuna's encrypted link (no KZLINK01 preamble)")
                }
                let keys = try SecureLinkKeys(own: ephemeral, peerPublicKey: inbound.readBytes(length: 32)!)
                sendCipher = SecureLinkCipher(key: keys.sendKey)
                receiveCipher = SecureLinkCipher(key: keys.receiveKey)
                state = .established
                context.fireUserInboundEventTriggered(SecureLinkEstablishedEvent(channelBinding: keys.channelBinding))
                let waiting = pending
                pending = []
                for (buffer, promise) in waiting { write(context: context, data: wrapOutboundOut(buffer), promise: promise) }
                if pendingFlush || !waiting.isEmpty { context.flush() }
                pendingFlush = false
            }
            guard case .established = state else { return }
            var delivered = false
            while let plaintext = try receiveCipher!.open(from: &inbound) {
                context.fireChannelRead(wrapInboundOut(plaintext))
                delivered = true
                // A handler above may have closed the channel (a refusal).
                guard case .established = state, context.channel.isActive else { return }
            }
            inbound.discardReadBytes()
            if delivered { context.fireChannelReadComplete() }
        } catch {
            fail(context: context, error: error)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        // Read completion is fired above only after whole records were delivered.
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        switch state {
        case .awaitingPreamble:
            pending.append((plaintext, promise))
        case .failed:
            promise?.fail(PeerError(.linkTampered, "the encrypted link has failed"))
        case .established:
            var records = context.channel.allocator.buffer(capacity: plaintext.readableBytes + SecureLinkLimits.lengthFieldBytes + SecureLinkLimits.tagBytes)
            do {
                try sendCipher!.seal(plaintext, into: &records)
            } catch {
                promise?.fail(error)
                fail(context: context, error: error)
                return
            }
            context.write(wrapOutboundOut(records), promise: promise)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if case .awaitingPreamble = state {
            pendingFlush = true
        } else {
            context.flush()
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let waiting = pending
        pending = []
        for (_, promise) in waiting { promise?.fail(ChannelError.ioOnClosedChannel) }
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, error: any Error) {
        state = .failed
        let waiting = pending
        pending = []
        for (_, promise) in waiting { promise?.fail(error) }
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension SecureLinkHandler: Sendable {}

/// A peer link WITHOUT encryption, for measuring what the encrypted link costs (`kizuna bench
/// network` runs both, `docs/benchmarks.md`): bytes pass as they are, and the handshake's proofs
/// sign a fixed channel binding — so a proof can be relayed and everything is readable on the
/// wire. The node allows it on `local-` chains only (`KIZUNA_DEV_PLAIN_PEER_LINKS`,
/// `node.development_plain_links`); both ends of a link must use it.
public final class PlainLinkHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// The binding both ends' proofs sign on a plain link: SHA-256 of a fixed phrase.
    public static let channelBinding: [UInt8] = Hash.sha256(Array("kizuna plain peer link, development only".utf8)).bytes

    private var started = false

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        // Already connected: the handlers after this one are added in the same pass, so the
        // link is announced once the pass is over.
        guard context.channel.isActive else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute { loopBound.value.0.start(context: loopBound.value.1) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context: context)
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        context.fireUserInboundEventTriggered(SecureLinkEstablishedEvent(channelBinding: Self.channelBinding))
    }
}

@available(*, unavailable)
extension PlainLinkHandler: Sendable {}
