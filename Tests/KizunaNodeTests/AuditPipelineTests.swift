import Foundation
import Synchronization
import Testing
import KizunaChain
import KizunaCore

/// Serves a chain and counts the blocks read; reading block `failAt` fails.
final class CountingSource: ChainSource, @unchecked Sendable {
    let base: BlockStore
    let failAt: UInt64?
    let blocksRead = Atomic<Int>(0)

    init(base: BlockStore, failAt: UInt64? = nil) {
        self.base = base
        self.failAt = failAt
    }

    var description: String { "counting copy" }
    func tipHeight() throws -> UInt64 { try base.tipHeight() }

    func block(at height: UInt64) throws -> Block {
        if height == failAt { throw ChainError(.missingBlock, "block \(height) is missing") }
        blocksRead.add(1, ordering: .sequentiallyConsistent)
        let block: Block = try base.block(at: height)
        return block
    }

    func certificate(at height: UInt64) throws -> CommitCertificate {
        let certificate: CommitCertificate = try base.certificate(at: height)
        return certificate
    }
}

/// The auditor's reading and verification ahead of its replay (issue 16).
@Suite struct AuditPipelineTests {
    @Test func windowsComeInOrderVerifiedAndTheReaderStaysWithinItsBound() throws {
        let fixture = try AuditFixture(blocks: 40)
        let source = CountingSource(base: fixture.blocks)
        let windowBlocks = 3
        let pipeline = VerifiedWindowPipeline(source: source, chainId: AuditFixture.genesis.chainId, heights: 1...40, windowBlocks: windowBlocks)
        pipeline.start()
        var next: UInt64 = 1
        var consumed = 0
        while let item = pipeline.next() {
            guard case .window(let window) = item else {
                Issue.record("unexpected \(item)")
                return
            }
            // Read so far: what was taken, the windows allowed to wait, and the one being read.
            let bound = consumed + window.blocks.count + (VerifiedWindowPipeline.windowsAheadMax + 1) * windowBlocks
            #expect(source.blocksRead.load(ordering: .sequentiallyConsistent) <= bound)
            #expect(window.verified.count == window.blocks.reduce(0) { $0 + $1.block.transactions.count })
            for (block, certificate) in window.blocks {
                #expect(block.height == next)
                #expect(certificate.height == next)
                next += 1
            }
            #expect(window.verified.allSatisfy { if case .success = $0 { true } else { false } })
            consumed += window.blocks.count
            // A slow replay: the reader, unbounded, would run far ahead meanwhile.
            Thread.sleep(forTimeInterval: 0.005)
        }
        #expect(next == 41)
        #expect(source.blocksRead.load(ordering: .sequentiallyConsistent) == 40)
    }

    @Test func aReadFailureEndsTheStreamAtItsHeight() throws {
        let fixture = try AuditFixture(blocks: 20)
        let source = CountingSource(base: fixture.blocks, failAt: 11)
        let pipeline = VerifiedWindowPipeline(source: source, chainId: AuditFixture.genesis.chainId, heights: 1...20, windowBlocks: 4)
        pipeline.start()
        var heights: [UInt64] = []
        var failure: UInt64?
        while let item = pipeline.next() {
            switch item {
            case .window(let window): heights += window.blocks.map(\.block.height)
            case .readFailure(let height, _): failure = height
            }
        }
        // Windows 1–4 and 5–8 arrive whole; the window of 9–12 is replaced by the failure.
        #expect(heights == Array(1...8))
        #expect(failure == 11)
    }

    @Test func theAuditNamesTheHeightOfABlockItCannotRead() throws {
        let fixture = try AuditFixture(blocks: 30)
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: CountingSource(base: fixture.blocks, failAt: 17))
        auditor.verifyWindowBlocks = 5
        auditor.invariantsEveryBlocks = 100
        #expect {
            _ = try auditor.run()
        } throws: { error in
            guard let failure = error as? ChainAuditor.Failure else { return false }
            return failure.height == 17 && failure.check == "read"
        }
    }

    @Test func cancelStopsTheReader() throws {
        let fixture = try AuditFixture(blocks: 60)
        let source = CountingSource(base: fixture.blocks)
        let pipeline = VerifiedWindowPipeline(source: source, chainId: AuditFixture.genesis.chainId, heights: 1...60, windowBlocks: 2)
        pipeline.start()
        guard case .window = pipeline.next() else {
            Issue.record("no first window")
            return
        }
        pipeline.cancel()
        #expect(pipeline.next() == nil)
        // Whatever the reader had started finishes, then it stops: far fewer than 60 blocks.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(source.blocksRead.load(ordering: .sequentiallyConsistent) <= 2 + (VerifiedWindowPipeline.windowsAheadMax + 1) * 2)
    }
}
