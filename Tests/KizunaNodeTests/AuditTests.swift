import Foundation
import Testing
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet

/// A chain built in memory by one validator: register, charge, then one send per block.
struct AuditFixture {
    static let validator = PrivateKey(seed: Hash.sha256(Array("audit validator".utf8)).bytes)!
    static let registrar = PrivateKey(seed: Hash.sha256(Array("audit registrar".utf8)).bytes)!
    static let issuer = PrivateKey(seed: Hash.sha256(Array("audit issuer".utf8)).bytes)!
    static let residents = (0..<4).map { PrivateKey(seed: Hash.sha256(Array("audit resident \($0)".utf8)).bytes)! }

    static let genesis = Genesis(
        chainId: "local-audit",
        genesisTime: CivilTime.parseRFC3339("2026-03-01T00:00:00+09:00")!,
        validators: [Validator(name: "city", organisation: "Audit City", publicKey: validator.publicKey, votingPower: 1)],
        authorities: Authorities(coinIssuer: issuer.publicKey, registrar: registrar.publicKey, city: PrivateKey(seed: [UInt8](repeating: 3, count: 32))!.publicKey, auditor: PrivateKey(seed: [UInt8](repeating: 4, count: 32))!.publicKey),
        coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
    )

    let blocks: BlockStore
    let store: MemoryStore

    /// `count` blocks, one transaction each, timestamps four hours apart (300 blocks cross 31 March).
    init(blocks count: Int) throws {
        store = MemoryStore()
        blocks = try BlockStore(store: store, genesis: AuditFixture.genesis)
        let validator = BlockValidator(blocks: blocks)
        let chainId = AuditFixture.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: AuditFixture.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: AuditFixture.issuer, nextNonce: 0)
        var residents = AuditFixture.residents.map { TransactionBuilder(chainId: chainId, key: $0, nextNonce: 0) }
        var script: [SignedTransaction] = AuditFixture.residents.map { registrar.register($0.publicKey, role: .resident) }
        script += AuditFixture.residents.enumerated().map { issuer.charge(to: $1.publicKey, amount: 50_000, receiptId: "r\($0)") }
        var time = AuditFixture.genesis.genesisTime
        var certificate: CommitCertificate?
        for index in 0..<count {
            let transaction: SignedTransaction
            if index < script.count {
                transaction = script[index]
            } else {
                let from = index % 4
                transaction = residents[from].send(to: AuditFixture.residents[(from + 1) % 4].publicKey, amount: 1)
            }
            time += 4 * 3_600_000
            let verified = try transaction.verified(chainId: chainId)
            let validated = try validator.propose(candidates: [verified], timestamp: time, proposer: AuditFixture.validator.publicKey, lastCommit: certificate)
            let block = validated.block
            #expect(validated.execution.rejected.isEmpty, "fixture transaction \(index) rejected: \(validated.execution.rejected.map(\.error))")
            let next = CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: [CommitCertificate.precommit(chainId: chainId, height: block.height, round: 0, blockHash: block.hash, key: AuditFixture.validator)])
            try blocks.commit(try validated.committed(by: next, chainId: chainId, validators: AuditFixture.genesis.validators))
            certificate = next
        }
    }
}

/// Serves a chain with one byte of one block or certificate changed.
struct TamperedSource: ChainSource {
    enum Target { case block, certificate }
    let base: BlockStore
    let height: UInt64
    let target: Target
    let byte: Int
    let replacementCertificate: CommitCertificate?

    init(base: BlockStore, height: UInt64, target: Target, byte: Int = 0, replacementCertificate: CommitCertificate? = nil) {
        self.base = base
        self.height = height
        self.target = target
        self.byte = byte
        self.replacementCertificate = replacementCertificate
    }

    var description: String { "tampered copy" }
    func tipHeight() throws -> UInt64 { try base.tipHeight() }

    func block(at height: UInt64) throws -> Block {
        let block: Block = try base.block(at: height)
        guard height == self.height, target == .block else { return block }
        var bytes = block.canonicalBytes
        bytes[byte % bytes.count] ^= 0x01
        return try Block(canonicalBytes: bytes)
    }

    func certificate(at height: UInt64) throws -> CommitCertificate {
        let certificate: CommitCertificate = try base.certificate(at: height)
        guard height == self.height, target == .certificate else { return certificate }
        if let replacementCertificate { return replacementCertificate }
        var bytes = certificate.canonicalBytes
        bytes[byte % bytes.count] ^= 0x01
        return try CommitCertificate(canonicalBytes: bytes)
    }
}

@Suite("Audit from genesis")
struct AuditTests {
    /// Blocks in the tamper test's chain; `KIZUNA_AUDIT_BLOCKS` raises it for a longer run
    /// (debug builds verify only a few thousand signatures a second).
    static let chainLength = Int(ProcessInfo.processInfo.environment["KIZUNA_AUDIT_BLOCKS"] ?? "") ?? 600

    @Test func anUntouchedChainPassesWithEveryCheck() throws {
        let fixture = try AuditFixture(blocks: 300)
        let (summary, replica) = try ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks).run(storedState: fixture.store)
        #expect(summary.blocks == 300)
        #expect(summary.transactions == 300)
        #expect(summary.tipHash == (try fixture.blocks.tip().hash.hex))
        #expect(summary.storedStateCompared)
        // The audit's reports equal the ones computed from the node's own state.
        let report = try AuditReport(summary: summary, replica: replica)
        #expect(report.supply == (try LedgerReports(store: fixture.store, genesis: AuditFixture.genesis).supply()))
        #expect(report.unusedBalances.map(\.baseDate) == ["2026-03-31"], "the chain crosses 31 March 2026")
        #expect(report.unusedBalances.first?.outstandingYen == (try LedgerReports(store: fixture.store, genesis: AuditFixture.genesis).unusedBalance(year: 2026, month: 3, day: 31))?.outstandingYen)
        // The replica keeps no transaction or account-history index (nothing reads them; they
        // were half of its inserts), and says so when asked for a transaction by id.
        #expect(!replica.keepsIndexes)
        #expect(try replica.store.entries(withPrefix: [], in: .transactions, limit: 1).isEmpty)
        #expect(try replica.store.entries(withPrefix: [], in: .accountHistory, limit: 1).isEmpty)
        #expect(try !fixture.store.entries(withPrefix: [], in: .accountHistory, limit: 1).isEmpty, "the node's own store keeps them")
        let someTransaction = try #require(try fixture.blocks.block(at: 1)?.transactions.first)
        #expect(throws: ChainError.self) { try replica.receipt(of: someTransaction.id) }
    }

    /// `--height`: the audit stops at the height asked for (its reports are that height's),
    /// compares no stored state below the tip, and refuses a height above the source's tip.
    @Test func anAuditStopsAtTheHeightAskedFor() throws {
        let fixture = try AuditFixture(blocks: 120)
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks)
        auditor.throughHeight = 80
        let (summary, replica) = try auditor.run(storedState: fixture.store)
        #expect(summary.blocks == 80 && !summary.storedStateCompared)
        let block80: Block = try fixture.blocks.block(at: 80)
        #expect(summary.tipHash == block80.hash.hex)
        let report = try AuditReport(summary: summary, replica: replica)
        let at80 = try ChainReports.state(at: 80, of: fixture.blocks)
        #expect(report.supply == (try LedgerReports(store: at80.store, genesis: AuditFixture.genesis).supply()))
        // A past height's replica, like the auditor's, keeps no transaction or history index.
        #expect(!at80.keepsIndexes)
        #expect(try at80.store.entries(withPrefix: [], in: .transactions, limit: 1).isEmpty && at80.store.entries(withPrefix: [], in: .accountHistory, limit: 1).isEmpty)
        #expect(report.governance.height == 81 && report.governance.policies["coin"] == AuditFixture.genesis.coin)
        auditor.throughHeight = 121
        #expect(throws: ChainAuditor.Failure.self) { try auditor.run() }
    }

    /// Issue 7, must-be-true 1: a changed byte anywhere in a stored block (header,
    /// transaction, carried certificate) or a stored certificate is found, at its height.
    @Test func everyChangedByteIsFoundAtItsHeight() throws {
        let fixture = try AuditFixture(blocks: AuditTests.chainLength)
        var random = SplitMix64(seed: 7_007)
        for trial in 0..<15 {
            let height = 1 + random.next() % UInt64(AuditTests.chainLength)
            let target: TamperedSource.Target = trial % 3 == 2 ? .certificate : .block
            let byte = Int(random.next() % 100_000)
            let source: any ChainSource
            do {
                source = TamperedSource(base: fixture.blocks, height: height, target: target, byte: byte)
                _ = try source.block(at: height)
                _ = try source.certificate(at: height)
            } catch {
                // The flip made the bytes undecodable: the source itself refuses them, at that height.
                continue
            }
            var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: source)
            auditor.invariantsEveryBlocks = 100
            do {
                _ = try auditor.run()
                Issue.record("trial \(trial): byte \(byte) of the \(target) at \(height) went unnoticed")
            } catch {
                #expect(error.height == height, "trial \(trial): found at \(error.height), changed at \(height): \(error)")
            }
        }
    }

    @Test func aChangedStateValueIsFoundAndNamed() throws {
        let fixture = try AuditFixture(blocks: 200)
        let entries = fixture.store.allEntries(in: .state)
        var random = SplitMix64(seed: 99)
        for _ in 0..<10 {
            let entry = entries[Int(random.next() % UInt64(entries.count))]
            let copy = MemoryStore()
            var batch = WriteBatch()
            for family in ColumnFamily.allCases {
                for item in fixture.store.allEntries(in: family) { batch.put(item.value, for: item.key, in: family) }
            }
            var value = entry.value
            value[Int(random.next() % UInt64(value.count))] ^= 0x10
            batch.put(value, for: entry.key, in: .state)
            try copy.write(batch, sync: false)
            do {
                _ = try ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks).run(storedState: copy)
                Issue.record("a changed state value at key \(entry.key.hexString) went unnoticed")
            } catch {
                #expect(error.check == "stored state")
                #expect(error.detail.contains(entry.key.hexString))
            }
        }
    }

    /// Issue 7, must-be-true 1: certificates with a vote from a non-validator, a duplicated
    /// vote, or less than 2/3 of the power are rejected.
    @Test func badCertificatesAreRejected() throws {
        let fixture = try AuditFixture(blocks: 20)
        let height: UInt64 = 12
        let block: Block = try fixture.blocks.block(at: height)
        let chainId = AuditFixture.genesis.chainId
        let honest = CommitCertificate.precommit(chainId: chainId, height: height, round: 0, blockHash: block.hash, key: AuditFixture.validator)
        let stranger = CommitCertificate.precommit(chainId: chainId, height: height, round: 0, blockHash: block.hash, key: PrivateKey(seed: [UInt8](repeating: 9, count: 32))!)
        let cases: [(String, CommitCertificate)] = [
            ("non-validator", CommitCertificate(height: height, round: 0, blockHash: block.hash, signatures: [honest, stranger])),
            ("duplicate", CommitCertificate(height: height, round: 0, blockHash: block.hash, signatures: [honest, honest])),
            ("no power", CommitCertificate(height: height, round: 0, blockHash: block.hash, signatures: [])),
        ]
        for (name, certificate) in cases {
            let source = TamperedSource(base: fixture.blocks, height: height, target: .certificate, replacementCertificate: certificate)
            do {
                _ = try ChainAuditor(genesis: AuditFixture.genesis, source: source).run()
                Issue.record("a certificate with \(name) was accepted")
            } catch {
                #expect(error.height == height, "\(name): \(error)")
                #expect(error.check.contains("certificate"), "\(name): \(error)")
            }
        }
    }

    /// Issue 7, must-be-true 1: a chain that forks from a correct one is rejected at the
    /// height of the fork, though every block of both branches is validly signed.
    @Test func aForkIsRejectedAtItsHeight() throws {
        let correct = try AuditFixture(blocks: 40)
        let forkHeight: UInt64 = 25
        // The same first 24 blocks, then a different block 25 (a different send), signed by
        // the same validator key.
        let forked = try AuditFixture(blocks: Int(forkHeight) - 1)
        let validator = BlockValidator(blocks: forked.blocks)
        let chainId = AuditFixture.genesis.chainId
        let sender = AuditFixture.residents[0]
        let nonce = try forked.blocks.account(sender.publicKey)?.nonce ?? 0
        var builder = TransactionBuilder(chainId: chainId, key: sender, nextNonce: nonce)
        let other = try builder.send(to: AuditFixture.residents[2].publicKey, amount: 7).verified(chainId: chainId)
        let tip = try forked.blocks.tip()
        let lastCommit: CommitCertificate? = try forked.blocks.certificate(at: tip.height)
        let validated = try validator.propose(candidates: [other], timestamp: tip.timestamp + 4 * 3_600_000, proposer: AuditFixture.validator.publicKey, lastCommit: lastCommit)
        let block = validated.block
        try forked.blocks.commit(try validated.committed(by: CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: [CommitCertificate.precommit(chainId: chainId, height: block.height, round: 0, blockHash: block.hash, key: AuditFixture.validator)]),
                                                         chainId: chainId, validators: AuditFixture.genesis.validators))
        // Alone, the forked branch is a valid chain.
        _ = try ChainAuditor(genesis: AuditFixture.genesis, source: forked.blocks).run()
        var auditor = ChainAuditor(genesis: AuditFixture.genesis, source: forked.blocks)
        auditor.reference = correct.blocks
        do {
            _ = try auditor.run()
            Issue.record("the fork went unnoticed")
        } catch {
            #expect(error.height == forkHeight)
            #expect(error.check == "fork")
        }
    }

    @Test func exportRoundTripsAndAuditsTheSame() throws {
        let fixture = try AuditFixture(blocks: 50)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).kzx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ExportFile.write(from: fixture.blocks, genesisJSON: AuditFixture.genesis.jsonData(), to: path)
        let file = try ExportFile(path: path)
        #expect(try Genesis(json: file.genesisJSON).hash == AuditFixture.genesis.hash)
        let fromFile = try ChainAuditor(genesis: AuditFixture.genesis, source: file).run().summary
        let fromStore = try ChainAuditor(genesis: AuditFixture.genesis, source: fixture.blocks).run().summary
        #expect(fromFile.tipHash == fromStore.tipHash)
        #expect(fromFile.stateRoot == fromStore.stateRoot)
        // A truncated export is refused with a clear error.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: path))
        #expect(throws: ExportFile.FormatError.self) { _ = try ExportFile(path: path) }
    }
}
