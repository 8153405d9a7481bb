import Foundation
import Synchronization
import Testing
@testable import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage

/// What each invariant check was given: its height and the state entries it saw.
private final class CheckRecorder: Sendable {
    let seen = Mutex<[(height: UInt64, entries: [[UInt8]])]>([])
}

private func stateEntries(_ store: any KeyValueStore) throws -> [[UInt8]] {
    var entries: [[UInt8]] = []
    try store.scan(.state, from: [], prefix: []) { key, value in
        entries.append(key + [0xFF] + value)
        return true
    }
    return entries
}

/// The auditor's full scans of the state for the invariants (every `invariantsEveryBlocks`
/// blocks and at the tip) run on a copy of that height's state while it replays the next block
/// (issue 16). The copy must be exactly that height's state, and a violation must still be
/// reported at its own height even when the replay has found something later.
@Suite struct AuditInvariantLaneTests {
    /// Each check gets its own height's state, in height order, every height once — the state
    /// a separate replay to that height ends with — although the replay has moved on.
    @Test func eachCheckSeesTheStateOfItsOwnHeight() throws {
        let fixture = try AuditFixture(blocks: 16)
        let recorder = CheckRecorder()
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks)
        auditor.verifyWindowBlocks = 4
        auditor.invariantsEveryBlocks = 1
        auditor.invariantCheck = { height, state in
            let entries = try stateEntries(state)
            recorder.seen.withLock { $0.append((height, entries)) }
            return nil
        }
        _ = try auditor.run(storedState: fixture.store)
        let seen = recorder.seen.withLock { $0 }
        #expect(seen.map(\.height) == Array(1...16))
        for (height, entries) in seen {
            let expected = try stateEntries(ChainReports.state(at: height, of: fixture.blocks).store)
            let same = entries == expected
            #expect(same, "the check of height \(height) saw another height's state (\(entries.count) entries, \(expected.count) expected)")
        }
    }

    /// With the default check, every height of an untouched chain passes (the lane runs the
    /// invariants of design §2.4 on real copies).
    @Test func theInvariantsHoldOnEveryCopy() throws {
        let fixture = try AuditFixture(blocks: 40)
        let (summary, _) = try ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks).run(storedState: fixture.store)
        #expect(summary.invariants == "hold" && summary.blocks == 40)
    }

    /// A violation is reported with its height and block, and the audit goes no further than
    /// one block past it.
    @Test func aViolationIsReportedAtItsHeight() throws {
        let fixture = try AuditFixture(blocks: 12)
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks)
        auditor.invariantsEveryBlocks = 1
        auditor.invariantCheck = { height, _ in height == 5 ? "planted at 5" : nil }
        do {
            _ = try auditor.run()
            Issue.record("the planted violation went unnoticed")
        } catch {
            #expect(error.height == 5)
            #expect(error.check == "invariants of design §2.4" && error.detail == "planted at 5")
            let block5: Block = try fixture.blocks.block(at: 5)
            #expect(error.blockHash == block5.hash.hex)
        }
    }

    /// The check of height 4 runs while block 5 is read; reading block 5 fails. The lower
    /// height's violation is the one reported.
    @Test func aViolationBelowALaterFailureWins() throws {
        let fixture = try AuditFixture(blocks: 8)
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: CountingSource(base: fixture.blocks, failAt: 5))
        auditor.verifyWindowBlocks = 1
        auditor.invariantsEveryBlocks = 1
        auditor.invariantCheck = { height, _ in height == 4 ? "planted at 4" : nil }
        do {
            _ = try auditor.run()
            Issue.record("neither failure was reported")
        } catch {
            #expect(error.height == 4 && error.detail == "planted at 4", "\(error)")
        }
        // Without the violation the read failure at 5 is what the audit reports.
        auditor.invariantCheck = { _, _ in nil }
        do {
            _ = try auditor.run()
            Issue.record("the read failure went unnoticed")
        } catch {
            #expect(error.height == 5 && error.check == "read", "\(error)")
        }
    }

    /// A check that throws (a state it cannot decode) fails the audit at that height.
    @Test func aCheckThatThrowsFailsTheAudit() throws {
        let fixture = try AuditFixture(blocks: 6)
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks)
        auditor.invariantsEveryBlocks = 2
        auditor.invariantCheck = { height, _ in
            if height == 6 { throw ChainError(.missingBlock, "unreadable") }
            return nil
        }
        do {
            _ = try auditor.run()
            Issue.record("the failing check went unnoticed")
        } catch {
            #expect(error.height == 6 && error.check == "invariants", "\(error)")
        }
    }
}
