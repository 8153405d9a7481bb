@testable import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Blocks on disk in the compact form, their signers named by number (ADR 0029): what is read
/// back is the canonical block byte for byte, the numbers survive a reopen and a failed write,
/// damage is refused with a code, and a store written before the form still reads.
@Suite("Stored block form")
struct StoredBlockFormTests {
    /// A chain like `ChainHarness.tenBlocks`, keeping every block as it was committed.
    static func chainKeepingBlocks() throws -> (chain: ChainHarness, blocks: [Block]) {
        let chain = try ChainHarness()
        let chainId = chain.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: Fixture.registrarKey, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: Fixture.coinIssuerKey, nextNonce: 0)
        var residents = (0..<4).map { TransactionBuilder(chainId: chainId, key: Fixture.account($0), nextNonce: 0) }
        var time = Fixture.time("2026-04-01T09:00:00+09:00")
        var blocks: [Block] = []
        blocks.append(try chain.produce(residents.map { registrar.register($0.key.publicKey, role: .resident) }, timestamp: time))
        time += 60_000
        blocks.append(try chain.produce(residents.enumerated().map { index, resident in
            issuer.charge(to: resident.key.publicKey, amount: 20_000, channel: .app, receiptId: "form-\(index)")
        }, timestamp: time))
        for height in 3...6 {
            time += 60_000
            let transactions = (0..<4).map { index in
                residents[index].send(to: residents[(index + 1 + height % 3) % 4].key.publicKey, amount: UInt64(100 * height + index))
            }
            let block = try chain.produce(transactions, timestamp: time)
            precondition(block.transactions.count == transactions.count, "the fixture chain must accept all its transactions")
            blocks.append(block)
        }
        return (chain, blocks)
    }

    @Test("a committed block is stored compact and reads back as the canonical block, byte for byte")
    func storedCompactReadsCanonical() throws {
        let (chain, committed) = try Self.chainKeepingBlocks()
        for block in committed {
            let stored = try #require(try chain.store.get(heightKey(block.height), in: .blocks))
            #expect(stored.first == StoredBlockForm.compactMarker, "block \(block.height) is not in the compact form")
            let read = try #require(try chain.blocks.block(at: block.height))
            #expect(read.canonicalBytes == block.canonicalBytes, "block \(block.height) reads back different bytes")
            #expect(try chain.blocks.header(at: block.height) == block.header)
            // Each transaction leaves out its chain id (4 + 14 bytes) and 32-byte key for at
            // most 2 bytes of number and 2 of length.
            let saved = block.transactions.count * (4 + chain.genesis.chainId.utf8.count + 32 - 4) - 1
            #expect(stored.count <= block.canonicalBytes.count - saved, "block \(block.height): \(stored.count) bytes stored, \(block.canonicalBytes.count) canonical")
        }
        #expect(try ChainVerifier(blocks: chain.blocks).verify().height == 6)
    }

    @Test("each signer gets one number, in chain order, kept in the signers family and read again on reopen")
    func numbersInChainOrderSurviveReopen() throws {
        let (chain, committed) = try Self.chainKeepingBlocks()
        var firstSeen: [PublicKey] = []
        for block in committed {
            for transaction in block.transactions where !firstSeen.contains(transaction.transaction.signer) {
                firstSeen.append(transaction.transaction.signer)
            }
        }
        let entries = chain.store.allEntries(in: .signers)
        #expect(entries.map(\.key) == (0..<firstSeen.count).map { SignerNumbers.entryKey(UInt32($0)) })
        #expect(entries.map(\.value) == firstSeen.map(\.bytes))

        let reopened = try BlockStore(store: chain.store, genesis: chain.genesis)
        #expect(reopened.signerNumbers.count == firstSeen.count)
        for block in committed {
            #expect(try reopened.block(at: block.height)?.canonicalBytes == block.canonicalBytes)
        }
    }

    @Test("every kind of transaction, co-signatures and a certificate survive the form; a signer number of several bytes too")
    func roundTripOfARandomChain() throws {
        let history = try RandomHistoryChain(seed: 29, blocks: 24)
        let blocks = history.chain.blocks
        var cosigned = 0
        for height in 1...(try blocks.tipHeight()) {
            let block = try #require(try blocks.block(at: height))
            cosigned += block.transactions.filter { !$0.cosignatures.isEmpty }.count
            // Numbers far apart, so that some take four and five bytes.
            let numbers = block.transactions.indices.map { UInt32(truncatingIfNeeded: $0 * 40_503_001 + 127) }
            let compact = try #require(StoredBlockForm.compactBytes(of: block, signerNumbers: numbers))
            var keyOf: [UInt32: [UInt8]] = [:]
            for (number, transaction) in zip(numbers, block.transactions) { keyOf[number] = transaction.transaction.signer.bytes }
            let canonical = try StoredBlockForm.canonicalBytes(ofCompact: compact) { keyOf[$0] }
            #expect(canonical == block.canonicalBytes, "block \(height)")
        }
        #expect(cosigned > 0, "the random chain holds no co-signed transaction")
    }

    @Test("a block holding a transaction for another chain id stays canonical")
    func otherChainIdStaysCanonical() throws {
        let (chain, committed) = try Self.chainKeepingBlocks()
        var block = try #require(committed.last)
        block.transactions[1].transaction.chainId = "local-other"
        #expect(StoredBlockForm.compactBytes(of: block, signerNumbers: block.transactions.map { _ in 0 }) == nil)
        #expect(chain.genesis.chainId != "local-other")
    }

    @Test("a gap in the signers family is refused when the store opens; a number the store never gave, when the block is read")
    func damagedNumbersAreRefused() throws {
        let (chain, committed) = try Self.chainKeepingBlocks()
        let entries = chain.store.allEntries(in: .signers)
        #expect(entries.count >= 3)

        let gap = try copyStore(chain.store)
        var removeOne = WriteBatch()
        removeOne.delete(entries[1].key, in: .signers)
        try gap.write(removeOne, sync: false)
        do {
            _ = try BlockStore(store: gap, genesis: chain.genesis)
            Issue.record("a signers family with a gap was opened")
        } catch {
            #expect(error.code == .corruptIndex)
            #expect(error.message.contains("signers"), "\(error)")
        }

        // The last number gone: the store opens, and the first block that names it is refused.
        let short = try copyStore(chain.store)
        var removeLast = WriteBatch()
        removeLast.delete(try #require(entries.last).key, in: .signers)
        try short.write(removeLast, sync: false)
        let blocks = try BlockStore(store: short, genesis: chain.genesis)
        let lastSigner = try #require(entries.last).value
        let naming = try #require(committed.first { $0.transactions.contains { $0.transaction.signer.bytes == lastSigner } })
        do {
            let _: Block? = try blocks.block(at: naming.height)
            Issue.record("a block naming a missing signer number was read")
        } catch {
            #expect(error.code == .corruptBlock)
            #expect(error.message.contains("signer number"), "\(error)")
        }
    }

    @Test("a commit whose write fails takes back the numbers it gave: the retry writes them, and the store reopens")
    func failedCommitTakesNumbersBack() throws {
        let (chain, _) = try Self.chainKeepingBlocks()
        let dying = StoreMigrationTests.DyingStore(base: try copyStore(chain.store), writesAllowed: 0)
        let blocks = try BlockStore(store: dying, genesis: chain.genesis)
        let before = blocks.signerNumbers.count
        // The city has not signed yet: its program creation gives it the next number.
        let chainId = chain.genesis.chainId
        var city = TransactionBuilder(chainId: chainId, key: Fixture.cityKey, nextNonce: 0)
        let program = city.createProgram(CreateProgram(asset: .point, name: "late", funder: Fixture.cityKey.publicKey, budgetYen: 10_000,
                                                       expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 1_000))
        let validated = try BlockValidator(blocks: blocks).propose(
            candidates: [try program.verified(chainId: chainId)], timestamp: Fixture.time("2026-04-01T10:00:00+09:00"),
            proposer: Fixture.validatorKey.publicKey, lastCommit: chain.tipCertificate)
        let committed = try validated.committed(by: chain.certificate(for: validated.block), chainId: chainId, validators: chain.genesis.validators)
        #expect(throws: ChainError.self) { try blocks.commit(committed) }
        #expect(blocks.signerNumbers.count == before, "the failed commit kept the number it gave")

        dying.writesAllowed = 1
        try blocks.commit(committed)
        #expect(blocks.signerNumbers.count == before + 1)
        let reopened = try BlockStore(store: dying.base, genesis: chain.genesis)
        #expect(reopened.signerNumbers.count == before + 1)
        #expect(try reopened.block(at: validated.height)?.canonicalBytes == validated.block.canonicalBytes)
    }

    @Test("a version-3 store (canonical blocks, no signers) opens as version 5, reads its blocks, and writes the next ones compact")
    func versionThreeStoreIsUpgraded() throws {
        let (chain, committed) = try Self.chainKeepingBlocks()
        let old = try copyStore(chain.store)
        var downgrade = WriteBatch()
        for block in committed { downgrade.put(block.canonicalBytes, for: heightKey(block.height), in: .blocks) }
        for entry in old.allEntries(in: .signers) { downgrade.delete(entry.key, in: .signers) }
        downgrade.put([0, 0, 0, 3], for: Array("format_version".utf8), in: .meta)
        try old.write(downgrade, sync: false)

        let upgraded = try ChainHarness(genesis: chain.genesis, store: old)
        upgraded.tipCertificate = chain.tipCertificate
        #expect(try StoreMigrationTests.formatVersion(old) == [0, 0, 0, 5])
        #expect(old.allEntries(in: .signers).isEmpty, "the upgrade rewrote something")
        for block in committed {
            #expect(try old.get(heightKey(block.height), in: .blocks)?.first == 0, "block \(block.height) was rewritten")
            #expect(try upgraded.blocks.block(at: block.height)?.canonicalBytes == block.canonicalBytes)
        }
        let chainId = chain.genesis.chainId
        var resident = TransactionBuilder(chainId: chainId, key: Fixture.account(0), nextNonce: try upgraded.blocks.account(Fixture.account(0).publicKey)?.nonce ?? 0)
        let next = try upgraded.produce([resident.send(to: Fixture.account(1).publicKey, amount: 5)], timestamp: Fixture.time("2026-04-01T11:00:00+09:00"))
        #expect(try old.get(heightKey(next.height), in: .blocks)?.first == StoredBlockForm.compactMarker)
        #expect(try upgraded.blocks.block(at: next.height)?.canonicalBytes == next.canonicalBytes)
        #expect(old.allEntries(in: .signers).map(\.value) == [Fixture.account(0).publicKey.bytes])
        #expect(try ChainVerifier(blocks: upgraded.blocks).verify().height == next.height)
    }

    @Test("LEB128 numbers: round trip at every width; a needless byte, more than 64 bits, a value over the bound or a cut are refused")
    func leb128() throws {
        for value: UInt64 in [0, 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max] {
            var bytes: [UInt8] = []
            StoredBlockForm.appendLEB128(value, to: &bytes)
            var offset = 0
            #expect(try StoredBlockForm.readLEB128(bytes, at: &offset, max: .max) == value)
            #expect(offset == bytes.count)
        }
        for (bytes, max) in [([UInt8](arrayLiteral: 0x80, 0x00), UInt64.max), ([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], .max), ([0x80, 0x01], 127), ([0x80], .max)] {
            var offset = 0
            #expect(throws: DecodingError.self, "\(bytes)") { _ = try StoredBlockForm.readLEB128(bytes, at: &offset, max: max) }
        }
    }
}
