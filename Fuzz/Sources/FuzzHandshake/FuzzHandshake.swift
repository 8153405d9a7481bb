import FuzzSupport
import KizunaCore
import KizunaNetwork

// Fuzzes the peer handshake as a node sees it: frames cut from the input by `FrameDecoder`,
// each payload decoded as `PeerHello` and `PeerProof` (HandshakeMessages.swift), and every frame
// fed to a `HandshakeStateMachine` of validator-city on the local chain. The challenge is fixed
// so that a seed can carry a valid hello and proof from validator-chamber and get the machine
// to the authenticated state. Byte 0: bit 0 dials (expects validator-chamber), bit 1 says the
// key is already connected, bit 2 times the handshake out at the end. The rest is the stream.
// Properties: the messages re-encode to the same bytes; each action matches the new state;
// only an allowed key other than our own, with a proof that verifies, is authenticated; after
// a refusal nothing else happens.

let localKey = DevelopmentKeys.privateKey("validator-city")
/// A fixed channel binding: the fuzzer drives the handshake above the encrypted link.
let channelBinding = [UInt8](repeating: 0x5b, count: 32)
let allowedKeys = Set(LocalChain.validatorNames.map { DevelopmentKeys.privateKey($0).publicKey })
let expectedKey = DevelopmentKeys.privateKey("validator-chamber").publicKey
let challenge = [UInt8](repeating: 0x4b, count: HandshakeLimits.challengeBytes)

func fuzzHandshake(_ input: [UInt8]) {
    guard let flags = input.first else { return }
    let dials = flags & 1 != 0
    let alreadyConnected = flags & 2 != 0
    var machine = HandshakeStateMachine(
        configuration: HandshakeConfiguration(chainId: LocalChain.chainId, privateKey: localKey, allowedKeys: allowedKeys),
        challenge: challenge,
        expectedPeerKey: dials ? expectedKey : nil,
        isAlreadyConnected: { _ in alreadyConnected }
    )
    guard case .send(let hello) = machine.connected(channelBinding: channelBinding), hello.kind == .hello else {
        fuzzCheck(false, "connecting does not send a hello")
        return
    }
    var decoder = FrameDecoder(frameBytesMax: 4096)
    decoder.feed(input.dropFirst())
    var lastProof: PeerProof?
    while let frame = try? decoder.next() {
        if let hello = try? PeerHello(canonicalBytes: frame.payload) {
            fuzzCheckRoundTrip(hello, from: frame.payload, "PeerHello")
        }
        if let proof = try? PeerProof(canonicalBytes: frame.payload) {
            fuzzCheckRoundTrip(proof, from: frame.payload, "PeerProof")
            if frame.kind == .proof { lastProof = proof }
        }
        let before = machine.state
        let action = machine.frameReceived(frame)
        switch action {
        case .none:
            guard case .refused = before else {
                fuzzCheck(false, "a frame was ignored in state \(before)")
                return
            }
        case .send(let reply):
            guard case .awaitingProof(let peerKey, _) = machine.state else {
                fuzzCheck(false, "sent \(reply.kind) in state \(machine.state)")
                return
            }
            fuzzCheck(reply.kind == .proof && frame.kind == .hello, "the answer to \(frame.kind) is \(reply.kind)")
            fuzzCheck(allowedKeys.contains(peerKey) && peerKey != localKey.publicKey, "answered a hello from a key that is not allowed")
            fuzzCheck(!dials || peerKey == expectedKey, "answered a hello from a key other than the one dialed")
        case .authenticated(let peerKey):
            fuzzCheck(machine.state == .authenticated(peerKey: peerKey) && machine.peerKey == peerKey, "authenticated but the state is \(machine.state)")
            fuzzCheck(allowedKeys.contains(peerKey) && peerKey != localKey.publicKey, "authenticated a key that is not allowed")
            fuzzCheck(!alreadyConnected, "authenticated a key that is already connected")
            let message = PeerProof.signingBytes(chainId: LocalChain.chainId, channelBinding: channelBinding, verifierChallenge: challenge, proverKey: peerKey, verifierKey: localKey.publicKey)
            fuzzCheck(lastProof.map { peerKey.isValidSignature($0.signature, for: message) } == true, "authenticated without a proof that verifies")
        case .deliver(let delivered):
            fuzzCheck(machine.peerKey != nil, "delivered a frame before authentication")
            fuzzCheck(delivered == frame && !frame.kind.isHandshake, "delivered \(delivered.kind) for \(frame.kind)")
        case .refuse(let error):
            fuzzCheck(machine.state == .refused(error), "refused but the state is \(machine.state)")
        }
    }
    if flags & 4 != 0 {
        let before = machine.state
        switch machine.handshakeTimedOut() {
        case .none:
            switch before {
            case .authenticated, .refused: break
            default: fuzzCheck(false, "a timeout in state \(before) was ignored")
            }
        case .refuse(let error):
            fuzzCheck(error.code == .handshakeTimeout && machine.state == .refused(error), "a timeout refused with \(error)")
        default:
            fuzzCheck(false, "a timeout did something else than refuse")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzHandshake(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzHandshake_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
