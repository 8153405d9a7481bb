import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaStateTree
import Testing

/// State snapshots (issue 20, must-be-true 3, second half; `docs/snapshots.md`): a store
/// started from the snapshot at height 5 of a ten-block chain, given blocks 6–10, reaches the
/// same tip hash and state root as the chain that ran from genesis; every kind of tampering is
/// refused with its code before anything is written.
@Suite("State snapshots")
struct StateSnapshotTests {
    static let height: UInt64 = 5

    /// The ten-block chain, and a replica of it replayed to `height` (its tip is the snapshot's).
    static func chains() throws -> (full: ChainHarness, atHeight: BlockStore) {
        let full = try ChainHarness.tenBlocks()
        let replica = try BlockStore(store: MemoryStore(), genesis: full.genesis)
        try apply(from: full, 1...height, to: replica)
        return (full, replica)
    }

    /// Validates and commits `full`'s blocks `heights` on `blocks`, with `full`'s certificates.
    static func apply(from full: ChainHarness, _ heights: ClosedRange<UInt64>, to blocks: BlockStore) throws {
        let validator = BlockValidator(blocks: blocks)
        for height in heights {
            let block = try #require(try full.blocks.block(at: height))
            let certificate = try #require(try full.blocks.certificate(at: height))
            let validated = try validator.validate(block)
            try blocks.commit(try validated.committed(by: certificate, chainId: full.genesis.chainId, validators: full.genesis.validators))
        }
    }

    static func parts(_ blocks: BlockStore) throws -> (block: Block, certificate: CommitCertificate, records: [(key: [UInt8], value: [UInt8])]) {
        let height = try blocks.tipHeight()
        return (try #require(try blocks.block(at: height)), try #require(try blocks.certificate(at: height)),
                try blocks.store.entries(withPrefix: [], in: .state))
    }

    func expectRefused(_ code: SnapshotErrorCode, _ bytes: [UInt8], genesis: Genesis, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: SnapshotError(code, ""), sourceLocation: sourceLocation) {
            _ = try StateSnapshot.verify(bytes, genesis: genesis)
        }
    }

    @Test("a store started from the snapshot at height 5 reaches the tip hash and state root of the chain replayed from genesis")
    func startFromSnapshotAndSync() throws {
        let (full, atHeight) = try Self.chains()
        let (summary, bytes) = try StateSnapshot.encode(atHeight)
        #expect(summary.height == Self.height)
        let verified = try StateSnapshot.verify(bytes, genesis: full.genesis)
        #expect(verified.summary == summary)

        let store = MemoryStore()
        try StateSnapshot.install(verified, into: store, genesis: full.genesis)
        let joined = try BlockStore(store: store, genesis: full.genesis)
        #expect(joined.snapshotHeight == Self.height)
        #expect(try joined.tip() == atHeight.tip())
        try Self.apply(from: full, (Self.height + 1)...10, to: joined)
        #expect(try joined.tip() == full.blocks.tip())

        let checked = try ChainVerifier(blocks: joined).verify()
        #expect(checked.height == 10 && checked.snapshotHeight == Self.height)
        #expect(checked.stateRoot == (try full.blocks.tip()).stateRoot)
        // Blocks below the snapshot are not held, and say so.
        #expect(throws: ChainError(.beforeSnapshot, "")) { let _: Block? = try joined.block(at: 3) }
        #expect(throws: ChainError(.beforeSnapshot, "")) { let _: CommitCertificate? = try joined.certificate(at: Self.height - 1) }
        let held = try #require(try joined.block(at: Self.height))
        let original = try #require(try full.blocks.block(at: Self.height))
        #expect(held.hash == original.hash)
        // Reports that replay from block 1 refuse too.
        #expect(throws: ChainError(.beforeSnapshot, "")) { _ = try ChainReports.state(at: 8, of: joined) }
        // A snapshot of the joined store (taken past its own snapshot) verifies like any other.
        let again = try StateSnapshot.encode(joined)
        #expect(try StateSnapshot.verify(again.bytes, genesis: full.genesis).summary.stateRoot == (try full.blocks.tip()).stateRoot)
    }

    @Test("a changed, added or removed record is refused: the rebuilt tree's root is not the header's")
    func tamperedRecords() throws {
        let (full, atHeight) = try Self.chains()
        let (block, certificate, records) = try Self.parts(atHeight)
        #expect(records.count > 5)
        var changed = records
        changed[3].value[changed[3].value.count - 1] ^= 0x01
        expectRefused(.stateRootMismatch, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: certificate, records: changed), genesis: full.genesis)
        var removed = records
        removed.remove(at: 2)
        expectRefused(.stateRootMismatch, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: certificate, records: removed), genesis: full.genesis)
        let added = records + [(key: [0xFF, 0xFF], value: [1, 2, 3])]
        expectRefused(.stateRootMismatch, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: certificate, records: added), genesis: full.genesis)
        // Out of order or repeated keys.
        var swapped = records
        swapped.swapAt(0, 1)
        expectRefused(.malformed, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: certificate, records: swapped), genesis: full.genesis)
        expectRefused(.malformed, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: certificate, records: records + [records.last!]), genesis: full.genesis)
    }

    @Test("a changed header, a bad or foreign certificate, or a changed block is refused")
    func tamperedHeaderAndCertificate() throws {
        let (full, atHeight) = try Self.chains()
        let (block, certificate, records) = try Self.parts(atHeight)
        // The header names another state root (the records changed to match it): the
        // certificate no longer commits the block.
        var changed = records
        changed[0].value += [0]
        let forgedRoot = StateTree.computeRoot(of: Dictionary(uniqueKeysWithValues: changed.map { (Ledger.treeKey($0.key), Ledger.treeValue($0.value)) }))
        var header = block.header
        header.stateRoot = forgedRoot
        let forged = Block(header: header, transactions: block.transactions, lastCommit: block.lastCommit)
        expectRefused(.badCertificate, StateSnapshot.encode(genesis: full.genesis, block: forged, certificate: certificate, records: changed), genesis: full.genesis)
        // ... and a certificate for the forged block signed by a key outside the validator set.
        let outsider = PrivateKey()
        let signedByOutsider = CommitCertificate(height: forged.height, round: 0, blockHash: forged.hash, signatures: [
            CommitCertificate.precommit(chainId: full.genesis.chainId, height: forged.height, round: 0, blockHash: forged.hash, key: outsider),
        ])
        expectRefused(.badCertificate, StateSnapshot.encode(genesis: full.genesis, block: forged, certificate: signedByOutsider, records: changed), genesis: full.genesis)
        // No signature at all, or the certificate of another height.
        let empty = CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: [])
        expectRefused(.badCertificate, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: empty, records: records), genesis: full.genesis)
        let other = try #require(try atHeight.certificate(at: Self.height - 1))
        expectRefused(.badCertificate, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: other, records: records), genesis: full.genesis)
        // A transaction dropped from the certified block: its transactions root no longer matches.
        let dropped = Block(header: block.header, transactions: Array(block.transactions.dropLast()), lastCommit: block.lastCommit)
        expectRefused(.badBlock, StateSnapshot.encode(genesis: full.genesis, block: dropped, certificate: certificate, records: records), genesis: full.genesis)
    }

    @Test("damaged bytes, another chain, another version, or a store that holds a chain are refused")
    func damagedOtherChainVersionAndTarget() throws {
        let (full, atHeight) = try Self.chains()
        let (_, bytes) = try StateSnapshot.encode(atHeight)
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x01
        expectRefused(.damaged, flipped, genesis: full.genesis)
        expectRefused(.damaged, Array(bytes.dropLast(7)), genesis: full.genesis)
        expectRefused(.malformed, Array("not a snapshot at all, but long enough to be read".utf8), genesis: full.genesis)
        let otherGenesis = Fixture.genesis(chainId: "local-other-chain")
        expectRefused(.otherChain, bytes, genesis: otherGenesis)
        let (block, certificate, records) = try Self.parts(atHeight)
        expectRefused(.unsupportedVersion, StateSnapshot.encode(genesis: full.genesis, block: block, certificate: certificate, records: records, version: 2), genesis: full.genesis)

        let verified = try StateSnapshot.verify(bytes, genesis: full.genesis)
        #expect(throws: SnapshotError(.targetNotEmpty, "")) {
            try StateSnapshot.install(verified, into: full.store, genesis: full.genesis)
        }
        // Nothing is written by a refused install: the full chain is as it was.
        #expect(try full.blocks.tipHeight() == 10)
        let genesisOnly = try BlockStore(store: MemoryStore(), genesis: full.genesis)
        #expect(throws: SnapshotError(.atGenesis, "")) { _ = try StateSnapshot.encode(genesisOnly) }
    }
}
