import Foundation
import KizunaConsensus
import KizunaCore
import Testing

/// Replays the consensus-message fuzz inputs (`Fuzz/corpus/FuzzConsensusMessage`,
/// `Fuzz/regressions/FuzzConsensusMessage`, read relative to this file) through
/// `ConsensusMessage.decodeFromPeer` as `FuzzConsensusMessage` drives it. See docs/reliability.md.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ target: String) -> [String] {
        ["corpus", "regressions"].flatMap { folder in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("\(folder)/\(target)").path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\(target)/\($0)" }
        }
    }

    @Test func corpusIsPresent() {
        #expect(!Self.files("FuzzConsensusMessage").isEmpty)
    }

    /// What decodes re-encodes to the same bytes; signing bytes and signature checks never crash.
    @Test(arguments: Self.files("FuzzConsensusMessage"))
    func consensusMessage(_ file: String) throws {
        let bytes = Array(try Data(contentsOf: Self.root.appendingPathComponent(file)))
        let message: ConsensusMessage
        do throws(DecodingError) {
            message = try ConsensusMessage.decodeFromPeer(bytes)
        } catch {
            #expect(error.offset >= 0 && error.offset <= bytes.count, "\(error)")
            return
        }
        #expect(message.canonicalBytes == bytes)
        #expect(try ConsensusMessage(canonicalBytes: message.canonicalBytes) == message)
        switch message {
        case .proposal(let proposal):
            #expect(proposal.blockHash == proposal.block.hash)
            _ = proposal.proposer.isValidSignature(proposal.signature, for: proposal.unsigned.signingBytes(chainId: "local-kizuna-1"))
        case .vote(let vote):
            #expect(vote.step != .proposal)
            _ = vote.validator.isValidSignature(vote.signature, for: vote.unsigned.signingBytes(chainId: "local-kizuna-1"))
        }
    }

    /// The signed seeds are valid messages, so the fuzzer starts from inputs that pass every check.
    @Test func proposalSeedsAreSigned() throws {
        for name in ["seed-proposal-block-1", "seed-proposal-block-2"] {
            let bytes = Array(try Data(contentsOf: Self.root.appendingPathComponent("corpus/FuzzConsensusMessage/\(name)")))
            guard case .proposal(let proposal) = try ConsensusMessage.decodeFromPeer(bytes) else {
                Issue.record("\(name) is not a proposal")
                continue
            }
            #expect(proposal.proposer.isValidSignature(proposal.signature, for: proposal.unsigned.signingBytes(chainId: "local-kizuna-1")), "\(name)")
        }
    }
}
