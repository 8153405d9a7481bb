import Foundation
import KizunaCore
import KizunaNetwork
import NIOCore
import Testing

/// The fuzz inputs of the network layer (`Fuzz/corpus/<target>`, `Fuzz/regressions/<target>`),
/// read relative to this file. See docs/reliability.md.
enum FuzzInputs {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ target: String) -> [String] {
        ["corpus", "regressions"].flatMap { folder in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("\(folder)/\(target)").path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\(target)/\($0)" }
        }
    }

    static func bytes(_ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(file)))
    }
}

/// Replays the fuzz inputs through the frame decoder and the handshake as `FuzzFrame` and
/// `FuzzHandshake` (Fuzz/Sources) drive them, with the same properties.
@Suite struct FuzzRegressionTests {
    @Test func corporaArePresent() {
        #expect(!FuzzInputs.files("FuzzFrame").isEmpty)
        #expect(!FuzzInputs.files("FuzzHandshake").isEmpty)
    }

    // MARK: FuzzFrame

    static let frameLimits = [1, 2, 5, 16, 64, 300, 4096, FrameLimits.frameBytesMaxDefault]

    func drain(_ decoder: inout FrameDecoder, into frames: inout [Frame]) -> PeerError? {
        do throws(PeerError) {
            while let frame = try decoder.next() { frames.append(frame) }
            return nil
        } catch {
            return error
        }
    }

    /// Byte 0 picks the frame limit, byte 1 the chunking, the rest is the stream. The frames do
    /// not depend on the chunking and re-encode to the bytes consumed.
    @Test(arguments: FuzzInputs.files("FuzzFrame"))
    func frames(_ file: String) throws {
        let input = try FuzzInputs.bytes(file)
        guard input.count >= 2 else { return }
        let frameBytesMax = Self.frameLimits[Int(input[0]) % Self.frameLimits.count]
        let cut = Int(input[1])
        let stream = Array(input[2...])

        var whole = FrameDecoder(frameBytesMax: frameBytesMax)
        whole.feed(stream)
        var frames: [Frame] = []
        let error = drain(&whole, into: &frames)

        var chunked = FrameDecoder(frameBytesMax: frameBytesMax)
        var chunkedFrames: [Frame] = []
        var chunkedError: PeerError?
        var position = 0
        var chunkIndex = 0
        while position < stream.count && chunkedError == nil {
            let length = min(1 + (cut >> (chunkIndex % 6) + chunkIndex) % 8, stream.count - position)
            chunked.feed(stream[position..<(position + length)])
            position += length
            chunkIndex += 1
            chunkedError = drain(&chunked, into: &chunkedFrames)
        }
        #expect(chunkedFrames == frames)
        #expect(chunkedError?.code == error?.code)

        var buffer = ByteBuffer(bytes: stream)
        var bufferFrames: [Frame] = []
        var bufferError: PeerError?
        while true {
            do throws(PeerError) {
                guard let frame = try FrameDecoder.decodeFrame(from: &buffer, frameBytesMax: frameBytesMax) else { break }
                bufferFrames.append(frame)
            } catch {
                bufferError = error
                break
            }
        }
        #expect(bufferFrames == frames)
        #expect(bufferError?.code == error?.code)

        let encoder = FrameEncoder(frameBytesMax: frameBytesMax)
        let consumed = try frames.flatMap { try encoder.encode($0) }
        #expect(stream.starts(with: consumed))
        if let error {
            #expect(error.code == .frameEmpty || error.code == .frameTooLarge)
            #expect(throws: error) { try whole.next() }
        } else {
            #expect(whole.bufferedByteCount == stream.count - consumed.count)
        }
    }

    // MARK: FuzzHandshake

    static let localKey = DevelopmentKeys.privateKey("validator-city")
    static let allowedKeys = Set(["validator-city", "validator-chamber", "validator-operator", "validator-bank"].map { DevelopmentKeys.privateKey($0).publicKey })
    static let expectedKey = DevelopmentKeys.privateKey("validator-chamber").publicKey
    static let challenge = [UInt8](repeating: 0x4b, count: HandshakeLimits.challengeBytes)

    /// Byte 0 holds flags (bit 0 dials validator-chamber, bit 1 says it is already connected,
    /// bit 2 times out at the end); the rest is the frames validator-city receives.
    @Test(arguments: FuzzInputs.files("FuzzHandshake"))
    func handshake(_ file: String) throws {
        let input = try FuzzInputs.bytes(file)
        guard let flags = input.first else { return }
        let dials = flags & 1 != 0
        let alreadyConnected = flags & 2 != 0
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(chainId: "local-kizuna-1", privateKey: Self.localKey, allowedKeys: Self.allowedKeys),
            challenge: Self.challenge,
            expectedPeerKey: dials ? Self.expectedKey : nil,
            isAlreadyConnected: { _ in alreadyConnected }
        )
        _ = machine.connected(channelBinding: HandshakeFixture.binding)
        var decoder = FrameDecoder(frameBytesMax: 4096)
        decoder.feed(input.dropFirst())
        while let frame = try? decoder.next() {
            if let hello = try? PeerHello(canonicalBytes: frame.payload) {
                #expect(hello.canonicalBytes == frame.payload)
            }
            if let proof = try? PeerProof(canonicalBytes: frame.payload) {
                #expect(proof.canonicalBytes == frame.payload)
            }
            let before = machine.state
            switch machine.frameReceived(frame) {
            case .none:
                guard case .refused = before else {
                    Issue.record("a frame was ignored in state \(before)")
                    return
                }
            case .send(let reply):
                #expect(reply.kind == .proof && frame.kind == .hello)
                guard case .awaitingProof(let peerKey, _) = machine.state else {
                    Issue.record("sent \(reply.kind) in state \(machine.state)")
                    return
                }
                #expect(Self.allowedKeys.contains(peerKey) && peerKey != Self.localKey.publicKey)
                #expect(!dials || peerKey == Self.expectedKey)
            case .authenticated(let peerKey):
                #expect(machine.state == .authenticated(peerKey: peerKey))
                #expect(Self.allowedKeys.contains(peerKey) && peerKey != Self.localKey.publicKey && !alreadyConnected)
            case .deliver(let delivered):
                #expect(machine.peerKey != nil && delivered == frame && !frame.kind.isHandshake)
            case .refuse(let error):
                #expect(machine.state == .refused(error))
            }
        }
        if flags & 4 != 0 {
            let before = machine.state
            let action = machine.handshakeTimedOut()
            switch before {
            case .authenticated, .refused: #expect(action == .none)
            default: #expect(action == .refuse(PeerError(.handshakeTimeout, "")))
            }
        }
    }

    /// The seeds reach every stage: the accepted stream authenticates validator-chamber and
    /// delivers the frame after the handshake (so the fuzzer starts from a working handshake).
    @Test func acceptedSeedAuthenticates() throws {
        let input = try FuzzInputs.bytes("corpus/FuzzHandshake/seed-accepted")
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(chainId: "local-kizuna-1", privateKey: Self.localKey, allowedKeys: Self.allowedKeys),
            challenge: Self.challenge,
            isAlreadyConnected: { _ in false }
        )
        _ = machine.connected(channelBinding: HandshakeFixture.binding)
        var decoder = FrameDecoder()
        decoder.feed(input.dropFirst())
        var actions: [HandshakeStateMachine.Action] = []
        while let frame = try decoder.next() { actions.append(machine.frameReceived(frame)) }
        #expect(actions.count == 3)
        #expect(actions.dropFirst().first == .authenticated(Self.expectedKey))
        #expect(machine.peerKey == Self.expectedKey)
    }
}
