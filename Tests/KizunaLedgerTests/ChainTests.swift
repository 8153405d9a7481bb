@testable import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// BlockStore, ChainVerifier and BlockValidator on a `MemoryStore`.
@Suite("Chain")
struct ChainTests {
    /// Opens a copy of `chain`'s store, applies `corrupt` to it, and runs the verifier.
    func verifyCorruptedCopy(of chain: ChainHarness, _ corrupt: (MemoryStore) throws -> Void) throws -> ChainError? {
        let copy = try copyStore(chain.store)
        try corrupt(copy)
        let blocks = try BlockStore(store: copy, genesis: chain.genesis)
        return #expect(throws: ChainError.self) {
            _ = try ChainVerifier(blocks: blocks).verify()
        }
    }

    func put(_ value: [UInt8], _ key: [UInt8], _ family: ColumnFamily, in store: MemoryStore) throws {
        var batch = WriteBatch()
        batch.put(value, for: key, in: family)
        try store.write(batch, sync: false)
    }

    func delete(_ key: [UInt8], _ family: ColumnFamily, in store: MemoryStore) throws {
        var batch = WriteBatch()
        batch.delete(key, in: family)
        try store.write(batch, sync: false)
    }

    // MARK: - Building and verifying

    @Test("a ten-block chain commits, and ChainVerifier reports its tip")
    func buildAndVerify() throws {
        let chain = try ChainHarness.tenBlocks()
        let tip = try chain.blocks.tip()
        #expect(tip.height == 10)
        let block10 = try #require(try chain.blocks.block(at: 10))
        #expect(tip.hash == block10.hash)
        #expect(tip.stateRoot == block10.header.stateRoot)
        #expect(tip.timestamp == block10.header.timestamp)

        var transactions = 0
        var previous = Hash.zero
        for height in UInt64(1)...10 {
            let block = try #require(try chain.blocks.block(at: height))
            #expect(block.header.previousBlockHash == previous)
            #expect((block.lastCommit == nil) == (height == 1))
            if height > 1 {
                let parentCertificate: CommitCertificate? = try chain.blocks.certificate(at: height - 1)
                #expect(block.lastCommit == parentCertificate)
                #expect(block.header.lastCommitHash == block.lastCommit?.hash)
            }
            #expect(try chain.blocks.height(ofBlock: block.hash) == height)
            for (index, transaction) in block.transactions.enumerated() {
                let receipt = try #require(try chain.blocks.receipt(of: transaction.id))
                #expect(receipt.height == height && receipt.index == UInt32(index))
            }
            #expect(!block.transactions.isEmpty)
            transactions += block.transactions.count
            previous = block.hash
        }

        var progress: [(UInt64, UInt64)] = []
        let summary = try ChainVerifier(blocks: chain.blocks).verify { progress.append(($0, $1)) }
        #expect(summary.height == 10)
        #expect(summary.tipHash == tip.hash)
        #expect(summary.stateRoot == tip.stateRoot)
        #expect(summary.transactions == transactions)
        #expect(summary.stateEntries == chain.store.allEntries(in: .state).count)
        #expect(progress.last.map { $0 == (10, 10) } == true)

        // Reopening the store finds the same tip, and the ledger invariant holds.
        let reopened = try BlockStore(store: chain.store, genesis: chain.genesis)
        #expect(try reopened.tip() == tip)
        try expectCoinInvariant(chain.store)
        #expect(try chain.blocks.supply(.coin).minted == 4 * 20_000 + 3 * 1_000, "four charges of ¥20,000 and top-ups at heights 3, 6, 9")
    }

    @Test("an empty chain verifies at height 0 with the genesis state root")
    func emptyChainVerifies() throws {
        let chain = try ChainHarness()
        let summary = try ChainVerifier(blocks: chain.blocks).verify()
        #expect(summary.height == 0)
        #expect(summary.tipHash == .zero)
        let tip = try chain.blocks.tip()
        #expect(summary.stateRoot == tip.stateRoot)
        // The four authority accounts, the charge-bonus program, the next program id and
        // the last block time.
        #expect(summary.stateEntries == 7)
    }

    // MARK: - Corruption

    @Test("a changed byte in a stored block is found, and the error names the height", arguments: [UInt64(1), 2, 5, 9, 10])
    func corruptBlockBody(height: UInt64) throws {
        let chain = try ChainHarness.tenBlocks()
        let original = try #require(try chain.store.get(heightKey(height), in: .blocks))
        // Stored in the compact form (ADR 0029): the form's byte, then the header.
        #expect(original.first == 1)
        let block = try #require(try chain.blocks.block(at: height))
        let headerBytes = 1 + block.header.canonicalBytes.count
        #expect(original.count > headerBytes)
        // Bytes of the body (transactions and carried certificate), spread over its length,
        // plus its last byte.
        let bodyLength = original.count - headerBytes
        var positions = Array(stride(from: headerBytes, to: original.count, by: max(1, bodyLength / 10)))
        positions.append(original.count - 1)
        for position in positions {
            for mask: UInt8 in [0x01, 0x80] {
                var bytes = original
                bytes[position] ^= mask
                let error = try verifyCorruptedCopy(of: chain) { try put(bytes, heightKey(height), .blocks, in: $0) }
                #expect(error.map { mentionsHeight($0.message, height) } == true, "byte \(position) of block \(height): \(String(describing: error))")
            }
        }
    }

    @Test("a changed byte in a stored block header is found, and the error names the height", arguments: [UInt64(1), 6, 10])
    func corruptBlockHeader(height: UInt64) throws {
        let chain = try ChainHarness.tenBlocks()
        let original = try #require(try chain.store.get(heightKey(height), in: .blocks))
        // The form's byte (ADR 0029) and the header.
        let headerBytes = 1 + (try #require(try chain.blocks.header(at: height))).canonicalBytes.count
        for position in stride(from: 0, to: headerBytes, by: 7) {
            var bytes = original
            bytes[position] ^= 0x01
            let error = try verifyCorruptedCopy(of: chain) { try put(bytes, heightKey(height), .blocks, in: $0) }
            #expect(error.map { mentionsHeight($0.message, height) } == true, "byte \(position) of block \(height): \(String(describing: error))")
        }
    }

    @Test("a changed byte in a stored certificate: chain.bad_certificate or chain.corrupt_block", arguments: [UInt64(1), 4, 10])
    func corruptCertificate(height: UInt64) throws {
        let chain = try ChainHarness.tenBlocks()
        let original = try #require(try chain.store.get(heightKey(height), in: .certificates))
        for position in stride(from: 0, to: original.count, by: 5) {
            var bytes = original
            bytes[position] ^= 0x04
            let error = try verifyCorruptedCopy(of: chain) { try put(bytes, heightKey(height), .certificates, in: $0) }
            #expect(error.map { [.badCertificate, .corruptBlock].contains($0.code) } == true, "byte \(position) of certificate \(height): \(String(describing: error))")
            #expect(error.map { mentionsHeight($0.message, height) } == true, "\(String(describing: error))")
        }
        // A missing certificate too.
        let missing = try verifyCorruptedCopy(of: chain) { try delete(heightKey(height), .certificates, in: $0) }
        #expect(missing?.code == .badCertificate)
    }

    @Test("a changed, removed or added state value: chain.corrupt_state")
    func corruptState() throws {
        let chain = try ChainHarness.tenBlocks()
        let entries = chain.store.allEntries(in: .state)
        #expect(entries.count > 10)
        for entry in entries {
            var value = entry.value
            value[value.count / 2] ^= 0x01
            let error = try verifyCorruptedCopy(of: chain) { try put(value, entry.key, .state, in: $0) }
            #expect(error?.code == .corruptState, "state key \(entry.key.hexString): \(String(describing: error))")
        }
        let removed = try verifyCorruptedCopy(of: chain) { try delete(entries[entries.count / 2].key, .state, in: $0) }
        #expect(removed?.code == .corruptState)
        let added = try verifyCorruptedCopy(of: chain) { try put(SupplyState().canonicalBytes, StateKey.supply(.thanks), .state, in: $0) }
        #expect(added?.code == .corruptState)
        // A state tree node changed: the stored tree no longer matches.
        let node = try #require(chain.store.allEntries(in: .stateTree).first)
        var nodeValue = node.value
        nodeValue[nodeValue.count - 1] ^= 0x01
        let tree = try verifyCorruptedCopy(of: chain) { try put(nodeValue, node.key, .stateTree, in: $0) }
        #expect(tree?.code == .corruptState)
    }

    @Test("a deleted or wrong transaction index entry: chain.corrupt_index naming the block")
    func corruptIndex() throws {
        let chain = try ChainHarness.tenBlocks()
        for height in [UInt64(1), 3, 7, 10] {
            let block = try #require(try chain.blocks.block(at: height))
            for transaction in [block.transactions.first!, block.transactions.last!] {
                let error = try verifyCorruptedCopy(of: chain) { try delete(TransactionIndex.key(transaction.id), .transactions, in: $0) }
                #expect(error?.code == .corruptIndex)
                #expect(error.map { mentionsHeight($0.message, height) } == true, "\(String(describing: error))")
            }
        }
        // An entry pointing at another place.
        let block = try #require(try chain.blocks.block(at: 4))
        let wrong = ChainPosition(height: 5, index: 0)
        let error = try verifyCorruptedCopy(of: chain) { try put(TransactionIndex.bytes(of: wrong), TransactionIndex.key(block.transactions[0].id), .transactions, in: $0) }
        #expect(error?.code == .corruptIndex)
        // An entry that is not a list of positions.
        let torn = try verifyCorruptedCopy(of: chain) { try put([0, 0, 0, 4], TransactionIndex.key(block.transactions[0].id), .transactions, in: $0) }
        #expect(torn?.code == .corruptIndex)
        // A block-hash index entry removed.
        let hashError = try verifyCorruptedCopy(of: chain) { try delete(block.hash.bytes, .blockHashes, in: $0) }
        #expect(hashError?.code == .corruptIndex)
    }

    @Test("a changed tip height in the meta family is found")
    func corruptTipHeight() throws {
        let chain = try ChainHarness.tenBlocks()
        // Tip lowered to 9: block 10 and its index entries are stray, and the stored state
        // is block 10's, not block 9's; the index check comes first.
        let lower = try verifyCorruptedCopy(of: chain) { try put(heightKey(9), Array("tip_height".utf8), .meta, in: $0) }
        #expect(lower?.code == .corruptIndex)
        // Tip raised to 11: there is no block 11.
        let higher = try verifyCorruptedCopy(of: chain) { try put(heightKey(11), Array("tip_height".utf8), .meta, in: $0) }
        #expect(higher?.code == .missingBlock)
    }

    /// An index entry that no block refers to would make `BlockValidator.propose` drop that
    /// transaction forever (it takes it for committed) and `BlockStore.receipt(of:)` report a
    /// transaction that never was; `ChainVerifier` counts the index entries to catch it.
    @Test("a stray transaction index entry is found")
    func strayIndexEntry() throws {
        let chain = try ChainHarness.tenBlocks()
        let bogus = Receipt(transactionId: Hash.sha256(Array("never committed".utf8)), height: 3, index: 0)
        let error = try verifyCorruptedCopy(of: chain) {
            try put(TransactionIndex.bytes(of: ChainPosition(height: 3, index: 0)), TransactionIndex.key(bogus.transactionId), .transactions, in: $0)
        }
        #expect(error?.code == .corruptIndex)
        // The same in the form stores before version 5 wrote (the whole id as key).
        let longKey = try verifyCorruptedCopy(of: chain) { try put(bogus.canonicalBytes, bogus.transactionId.bytes, .transactions, in: $0) }
        #expect(longKey?.code == .corruptIndex)
        // A position added to a real entry: the index lists one transaction more than the chain.
        let real = try #require(try chain.blocks.block(at: 5)?.transactions.first)
        let doubled = TransactionIndex.bytes(of: ChainPosition(height: 5, index: 0)) + TransactionIndex.bytes(of: ChainPosition(height: 3, index: 0))
        let extra = try verifyCorruptedCopy(of: chain) { try put(doubled, TransactionIndex.key(real.id), .transactions, in: $0) }
        #expect(extra?.code == .corruptIndex)
        let strayHash = try verifyCorruptedCopy(of: chain) { try put(heightKey(4), Hash.sha256([4]).bytes, .blockHashes, in: $0) }
        #expect(strayHash?.code == .corruptIndex)
    }

    @Test("a missing block: chain.missing_block")
    func missingBlock() throws {
        let chain = try ChainHarness.tenBlocks()
        let error = try verifyCorruptedCopy(of: chain) { try delete(heightKey(5), .blocks, in: $0) }
        #expect(error?.code == .missingBlock)
        #expect(error.map { mentionsHeight($0.message, 5) } == true)
    }

    @Test("opening the store with another genesis: chain.genesis_mismatch")
    func genesisMismatch() throws {
        let chain = try ChainHarness.tenBlocks()
        let others = [
            Fixture.genesis(chainId: "local-other"),
            Fixture.genesis(genesisTime: Fixture.genesisTime + 1000),
            Fixture.genesis(coin: { var policy = Genesis.defaultCoinPolicy; policy.holderCapYen += 1; return policy }()),
        ]
        for other in others {
            #expect(other.hash != chain.genesis.hash)
            let copy = try copyStore(chain.store)
            let error = #expect(throws: ChainError.self) { _ = try BlockStore(store: copy, genesis: other) }
            #expect(error?.code == .genesisMismatch)
        }
        // The right genesis still opens it.
        _ = try BlockStore(store: try copyStore(chain.store), genesis: Fixture.defaultGenesis)
    }

    // MARK: - BlockValidator

    /// The ten-block chain, a replica of its store, and the honest block 11 proposed on the
    /// original (not committed).
    func nextBlock() throws -> (chain: ChainHarness, replica: ChainHarness, block: Block, execution: BlockExecution, tip: ChainTip) {
        let chain = try ChainHarness.tenBlocks()
        let replica = try ChainHarness(store: try copyStore(chain.store))
        let tip = try chain.blocks.tip()
        let alice = Fixture.account(0)
        let bob = Fixture.account(1)
        let aliceNonce = try #require(try chain.blocks.account(alice.publicKey)).nonce
        let bobNonce = try #require(try chain.blocks.account(bob.publicKey)).nonce
        let transactions = [
            Transaction(chainId: chain.genesis.chainId, signer: alice.publicKey, nonce: aliceNonce, body: .send(Send(to: bob.publicKey, amount: 1_234))).signed(by: alice),
            Transaction(chainId: chain.genesis.chainId, signer: bob.publicKey, nonce: bobNonce, body: .send(Send(to: alice.publicKey, amount: 321))).signed(by: bob),
        ]
        let (block, execution) = try chain.propose(transactions, timestamp: tip.timestamp + 60_000)
        #expect(block.transactions.count == 2)
        return (chain, replica, block, execution, tip)
    }

    func expectInvalid(_ block: Block, on replica: ChainHarness, _ code: ChainError.Code, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: ChainError.self, "\(what)", sourceLocation: sourceLocation) {
            _ = try replica.validator.validate(block)
        }
        #expect(error?.code == code, "\(what): \(String(describing: error))", sourceLocation: sourceLocation)
    }

    /// Trust in types: only a certificate that verifies for the block against the validator set
    /// makes a validated block a `CommittedBlock`, the only thing `BlockStore.commit` takes.
    @Test func onlyAVerifyingCertificateMakesAValidatedBlockCommitted() throws {
        let (chain, replica, block, _, _) = try nextBlock()
        let validated = try replica.validator.validate(block)
        let genesis = replica.genesis
        let stranger = PrivateKey(seed: [UInt8](repeating: 0x5a, count: 32))!
        let forged = [
            chain.certificate(for: block, key: stranger),
            CommitCertificate(height: block.height, round: 0, blockHash: Hash.sha256([1]), signatures: chain.certificate(for: block).signatures),
            CommitCertificate(height: block.height + 1, round: 0, blockHash: block.hash, signatures: chain.certificate(for: block).signatures),
            CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: []),
        ]
        for certificate in forged {
            #expect(throws: CertificateError.self) { _ = try validated.committed(by: certificate, chainId: genesis.chainId, validators: genesis.validators) }
        }
        let committed = try validated.committed(by: chain.certificate(for: block), chainId: genesis.chainId, validators: genesis.validators)
        try replica.blocks.commit(committed)
        #expect(try replica.blocks.tipHeight() == block.height)
    }

    @Test("validate accepts the next honest block built on another store")
    func validateAcceptsHonestBlock() throws {
        let (chain, replica, block, execution, _) = try nextBlock()
        let validated = try replica.validator.validate(block)
        #expect(validated.execution.stateRoot == block.header.stateRoot)
        #expect(validated.execution.stateRoot == execution.stateRoot)
        #expect(validated.execution.batch == execution.batch)
        #expect(validated.execution.receipts == execution.receipts)
        // Both commit it; the stores stay identical.
        try chain.commit(block, execution)
        replica.tipCertificate = chain.tipCertificate
        try replica.blocks.commit(try validated.committed(by: chain.tipCertificate!, chainId: replica.genesis.chainId, validators: replica.genesis.validators))
        #expect(snapshot(chain.store) == snapshot(replica.store))
        #expect(try ChainVerifier(blocks: replica.blocks).verify().height == 11)
        // Validating does not write.
        let before = snapshot(replica.store)
        let (block12, _) = try chain.propose([], timestamp: block.header.timestamp + 1)
        _ = try replica.validator.validate(block12)
        #expect(snapshot(replica.store) == before)
    }

    @Test("validate accepts an honest block 1 on a fresh store and refuses one carrying a certificate")
    func validateFirstBlock() throws {
        let chain = try ChainHarness()
        let replica = try ChainHarness()
        let (block, _) = try chain.propose([], timestamp: Fixture.genesisTime + 1)
        _ = try replica.validator.validate(block)
        var withCertificate = block
        withCertificate.lastCommit = chain.certificate(for: block)
        withCertificate.header.lastCommitHash = withCertificate.lastCommit!.hash
        expectInvalid(withCertificate, on: replica, .badCertificate, "block 1 with a parent certificate")
        // Timestamps must be after genesis time; propose raises a late clock.
        let (late, _) = try chain.propose([], timestamp: 0)
        #expect(late.header.timestamp == Fixture.genesisTime + 1)
        var atGenesis = block
        atGenesis.header.timestamp = Fixture.genesisTime
        expectInvalid(atGenesis, on: replica, .badTimestamp, "block 1 at genesis time")
    }

    @Test("validate refuses a wrong state root")
    func wrongStateRoot() throws {
        let (_, replica, block, _, _) = try nextBlock()
        var bad = block
        bad.header.stateRoot = Hash.sha256([1, 2, 3])
        expectInvalid(bad, on: replica, .badStateRoot, "wrong state root")
        bad.header.stateRoot = try replica.blocks.tip().stateRoot
        expectInvalid(bad, on: replica, .badStateRoot, "the parent's state root")
    }

    @Test("validate refuses a wrong previous hash or height")
    func wrongPreviousHash() throws {
        let (chain, replica, block, _, _) = try nextBlock()
        var bad = block
        bad.header.previousBlockHash = try #require(try chain.blocks.block(at: 9)).hash
        expectInvalid(bad, on: replica, .brokenLink, "previous hash of block 9")
        bad.header.previousBlockHash = .zero
        expectInvalid(bad, on: replica, .brokenLink, "zero previous hash")
        var wrongHeight = block
        wrongHeight.header.height = 12
        expectInvalid(wrongHeight, on: replica, .wrongHeight, "height 12 on tip 10")
        wrongHeight.header.height = 10
        expectInvalid(wrongHeight, on: replica, .wrongHeight, "height 10 on tip 10")
    }

    @Test("validate refuses a timestamp that does not increase")
    func nonIncreasingTimestamp() throws {
        let (_, replica, block, _, tip) = try nextBlock()
        for timestamp in [tip.timestamp, tip.timestamp - 1, 0] {
            var bad = block
            bad.header.timestamp = timestamp
            expectInvalid(bad, on: replica, .badTimestamp, "timestamp \(timestamp) on parent \(tip.timestamp)")
        }
        // One millisecond later is enough for the header (the state root then differs,
        // because coinChangedAt records the block time).
        var later = block
        later.header.timestamp = tip.timestamp + 1
        expectInvalid(later, on: replica, .badStateRoot, "another timestamp, same state root")
    }

    @Test("validate refuses a missing, mismatched or invalid parent certificate")
    func badLastCommit() throws {
        let (chain, replica, block, _, tip) = try nextBlock()
        let honest = try #require(block.lastCommit)

        var missing = block
        missing.lastCommit = nil
        expectInvalid(missing, on: replica, .badCertificate, "no certificate")
        missing.header.lastCommitHash = .zero
        expectInvalid(missing, on: replica, .badCertificate, "no certificate and a zero hash")

        var mismatched = block
        mismatched.header.lastCommitHash = Hash.sha256([0])
        expectInvalid(mismatched, on: replica, .badCertificate, "header names another certificate")

        func carrying(_ certificate: CommitCertificate) -> Block {
            var bad = block
            bad.lastCommit = certificate
            bad.header.lastCommitHash = certificate.hash
            return bad
        }
        let stranger = Fixture.account(20)
        let byStranger = CommitCertificate(height: tip.height, round: 0, blockHash: tip.hash, signatures: [
            CommitCertificate.precommit(chainId: chain.genesis.chainId, height: tip.height, round: 0, blockHash: tip.hash, key: stranger),
        ])
        expectInvalid(carrying(byStranger), on: replica, .badCertificate, "signed by a non-validator")
        let forBlock9 = try #require(try chain.blocks.certificate(at: 9))
        expectInvalid(carrying(forBlock9), on: replica, .badCertificate, "certificate of block 9")
        var badSignature = honest
        var signature = badSignature.signatures[0].signature.bytes
        signature[0] ^= 0x01
        badSignature.signatures[0] = CommitSignature(validator: Fixture.validatorKey.publicKey, signature: Signature(signature)!)
        expectInvalid(carrying(badSignature), on: replica, .badCertificate, "a changed signature")
        let otherRound = CommitCertificate(height: tip.height, round: 1, blockHash: tip.hash, signatures: honest.signatures)
        expectInvalid(carrying(otherRound), on: replica, .badCertificate, "signature for round 0 in a round-1 certificate")
        let otherChain = CommitCertificate(height: tip.height, round: 0, blockHash: tip.hash, signatures: [
            CommitCertificate.precommit(chainId: "local-other", height: tip.height, round: 0, blockHash: tip.hash, key: Fixture.validatorKey),
        ])
        expectInvalid(carrying(otherChain), on: replica, .badCertificate, "signed for another chain")
        expectInvalid(carrying(CommitCertificate(height: tip.height, round: 0, blockHash: tip.hash, signatures: [])), on: replica, .badCertificate, "no signatures")
        // A valid certificate for round 1 of the same block is fine.
        let round1 = CommitCertificate(height: tip.height, round: 1, blockHash: tip.hash, signatures: [
            CommitCertificate.precommit(chainId: chain.genesis.chainId, height: tip.height, round: 1, blockHash: tip.hash, key: Fixture.validatorKey),
        ])
        let accepted = carrying(round1)
        _ = try replica.validator.validate(accepted)
    }

    @Test("validate refuses a tampered or failing transaction")
    func tamperedTransaction() throws {
        let (chain, replica, block, _, _) = try nextBlock()
        // Amount changed after signing: the signature no longer verifies.
        var tampered = block
        var transaction = tampered.transactions[0]
        guard case .send(var send) = transaction.transaction.body else { Issue.record("expected a send"); return }
        send.amount += 1
        transaction.transaction.body = .send(send)
        tampered.transactions[0] = transaction
        expectInvalid(tampered, on: replica, .badTransaction, "amount changed after signing")
        let error = #expect(throws: ChainError.self) { _ = try replica.validator.validate(tampered) }
        #expect(error?.message.contains("tx.bad_signature") == true)

        // A changed signature byte.
        var badSignature = block
        var bytes = badSignature.transactions[1].signature.bytes
        bytes[10] ^= 0x20
        badSignature.transactions[1].signature = Signature(bytes)!
        expectInvalid(badSignature, on: replica, .badTransaction, "a changed signature")

        // Transactions removed, reordered or added without updating the root.
        var removed = block
        removed.transactions.removeLast()
        expectInvalid(removed, on: replica, .badTransactionsRoot, "a transaction removed")
        var reordered = block
        reordered.transactions.reverse()
        expectInvalid(reordered, on: replica, .badTransactionsRoot, "transactions reordered")

        // A correctly signed transaction for another chain.
        let carol = Fixture.account(2)
        let carolNonce = try #require(try chain.blocks.account(carol.publicKey)).nonce
        var foreign = block
        foreign.transactions.append(Transaction(chainId: "local-other", signer: carol.publicKey, nonce: carolNonce, body: .send(Send(to: Fixture.account(3).publicKey, amount: 1))).signed(by: carol))
        foreign.header.transactionsRoot = Block.transactionsRoot(foreign.transactions.map(\.id))
        expectInvalid(foreign, on: replica, .badTransaction, "a transaction for another chain")

        // A correctly signed transaction that the ledger refuses (carol cannot afford it),
        // with a matching transactions root: the whole block is refused.
        var failing = block
        failing.transactions.append(Transaction(chainId: chain.genesis.chainId, signer: carol.publicKey, nonce: carolNonce, body: .send(Send(to: Fixture.account(3).publicKey, amount: 99_999))).signed(by: carol))
        failing.header.transactionsRoot = Block.transactionsRoot(failing.transactions.map(\.id))
        let failure = #expect(throws: ChainError.self) { _ = try replica.validator.validate(failing) }
        #expect(failure?.code == .badTransaction)
        #expect(failure?.message.contains("ledger.insufficient_balance") == true, "\(String(describing: failure))")

        // A transaction already committed in block 10 (replay).
        let replayed = try #require(try chain.blocks.block(at: 10)).transactions[0]
        var replay = block
        replay.transactions.append(replayed)
        replay.header.transactionsRoot = Block.transactionsRoot(replay.transactions.map(\.id))
        let replayError = #expect(throws: ChainError.self) { _ = try replica.validator.validate(replay) }
        #expect(replayError?.code == .badTransaction)
        #expect(replayError?.message.contains("tx.bad_nonce") == true)
    }

    @Test("validate refuses a wrong chain id, proposer or validator set")
    func wrongChainAndProposer() throws {
        let (_, replica, block, _, _) = try nextBlock()
        var otherChain = block
        otherChain.header.chainId = "local-other"
        expectInvalid(otherChain, on: replica, .wrongChain, "chain id local-other")
        var proposer = block
        proposer.header.proposer = Fixture.coinIssuerKey.publicKey
        expectInvalid(proposer, on: replica, .badProposer, "an authority as proposer")
        var validatorSet = block
        validatorSet.header.validatorSetHash = Hash.sha256([5])
        expectInvalid(validatorSet, on: replica, .badValidatorSet, "another validator set")
    }

    @Test("propose leaves out failing and already committed transactions")
    func proposeFiltersCandidates() throws {
        let chain = try ChainHarness.tenBlocks()
        let tip = try chain.blocks.tip()
        let alice = Fixture.account(0)
        let committed = try #require(try chain.blocks.block(at: 10)).transactions[0]
        let aliceNonce = try #require(try chain.blocks.account(alice.publicKey)).nonce
        let tooMuch = Transaction(chainId: chain.genesis.chainId, signer: alice.publicKey, nonce: aliceNonce, body: .send(Send(to: Fixture.account(1).publicKey, amount: 100_000))).signed(by: alice)
        let fine = Transaction(chainId: chain.genesis.chainId, signer: alice.publicKey, nonce: aliceNonce, body: .send(Send(to: Fixture.account(1).publicKey, amount: 10))).signed(by: alice)
        let (block, execution) = try chain.propose([committed, tooMuch, fine], timestamp: tip.timestamp - 5)
        #expect(block.transactions.map(\.id) == [fine.id])
        #expect(execution.rejected.map(\.error.code) == [.insufficientBalance])
        #expect(block.header.timestamp == tip.timestamp + 1, "a clock behind the parent is raised to parent + 1 ms")
        #expect(block.header.previousBlockHash == tip.hash)
        #expect(block.header.lastCommitHash == chain.tipCertificate?.hash)
        #expect(block.header.transactionsRoot == Block.transactionsRoot([fine.id]))
        try chain.commit(block, execution)
        #expect(try ChainVerifier(blocks: chain.blocks).verify().height == 11)
    }
}

/// A block's signatures verified on several threads at once (a node's check of its store at
/// start, `ChainVerifier`): the same transactions, in order, and the same first failure as on
/// one thread.
@Suite struct ParallelBlockVerificationTests {
    /// A block of `count` sends (their signatures are all that is checked here), its header's
    /// transactions root made to match.
    static func block(of count: Int) throws -> Block {
        let chainId = Fixture.defaultGenesis.chainId
        var builder = TransactionBuilder(chainId: chainId, key: Fixture.account(1), nextNonce: 0)
        let transactions = (0..<count).map { _ in builder.send(to: Fixture.account(2).publicKey, amount: 1) }
        var block = Block(
            header: BlockHeader(chainId: chainId, height: 1, previousBlockHash: .zero, timestamp: 1, transactionsRoot: .zero, stateRoot: .zero,
                                proposer: Fixture.validatorKey.publicKey, validatorSetHash: .zero, lastCommitHash: .zero),
            transactions: transactions, lastCommit: nil)
        block.header.transactionsRoot = Block.transactionsRoot(transactions.map(\.id))
        return block
    }

    @Test func manyThreadsGiveWhatOneGives() throws {
        let block = try Self.block(of: 150)
        let chainId = Fixture.defaultGenesis.chainId
        let one = try BlockValidator.verifyTransactions(block, chainId: chainId, parts: 1)
        let two = try BlockValidator.verifyTransactions(block, chainId: chainId, parts: 2)
        let four = try BlockValidator.verifyTransactions(block, chainId: chainId, parts: 4)
        #expect(one.map(\.id) == block.transactions.map(\.id))
        #expect(two.map(\.id) == one.map(\.id) && four.map(\.id) == one.map(\.id))
    }

    /// Two signatures changed: on any number of threads the first of them is the one named.
    @Test func theFirstBadSignatureIsNamed() throws {
        var block = try Self.block(of: 150)
        for index in [77, 140] {
            var bytes = block.transactions[index].signature.bytes
            bytes[10] ^= 0x20
            block.transactions[index].signature = Signature(bytes)!
        }
        for parts in [1, 2, 4] {
            let error = #expect(throws: ChainError.self) { _ = try BlockValidator.verifyTransactions(block, chainId: Fixture.defaultGenesis.chainId, parts: parts) }
            #expect(error?.code == .badTransaction && error?.message.contains("transaction 77 (") == true, "\(parts) threads: \(String(describing: error))")
        }
    }
}
