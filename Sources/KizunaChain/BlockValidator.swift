public import KizunaCore
public import KizunaStorage
public import KizunaLedger

/// Builds and checks blocks against the tip of a `BlockStore`. Pure apart from reading the
/// store: no clock (the proposer passes the timestamp in), no network.
public struct BlockValidator: Sendable {
    public let blocks: BlockStore

    public init(blocks: BlockStore) {
        self.blocks = blocks
    }

    var genesis: Genesis { blocks.genesis }

    /// Builds the next block from `candidates`: failing transactions are left out and
    /// returned with their errors. `timestamp` is raised to one millisecond after the
    /// parent's if the proposer's clock is behind, so timestamps always increase.
    public func propose(candidates: [VerifiedTransaction], timestamp proposedTimestamp: UInt64, proposer: PublicKey, lastCommit: CommitCertificate?) throws -> ValidatedBlock {
        let tip = try blocks.tip()
        let schedule = try blocks.validatorSchedule()
        let timestamp = max(proposedTimestamp, tip.timestamp + 1)
        let context = BlockContext(height: tip.height + 1, timestamp: timestamp)
        let fresh = try candidates.filter { try blocks.receipt(of: $0.id) == nil }
        let execution = try blocks.ledger.execute(Array(fresh.prefix(BlockLimits.transactionsMax)), context: context, store: blocks.store, mode: .propose)
        let header = BlockHeader(
            chainId: genesis.chainId,
            height: context.height,
            previousBlockHash: tip.hash,
            timestamp: timestamp,
            transactionsRoot: Block.transactionsRoot(execution.accepted.map(\.id)),
            stateRoot: execution.stateRoot,
            proposer: proposer,
            validatorSetHash: schedule.set(at: context.height).hash,
            lastCommitHash: lastCommit?.hash ?? .zero
        )
        // Built by executing on the tip: valid by construction.
        return ValidatedBlock(block: Block(header: header, transactions: execution.accepted.map(\.signed), lastCommit: lastCommit), execution: execution)
    }

    /// Checks everything about `block` as the next block on the current tip: header fields,
    /// the parent's certificate it carries, every transaction's signature, and a full
    /// execution whose state root must match the header's.
    ///
    /// - Parameter verified: the block's transactions already verified by the caller (the
    ///   auditor verifies many blocks' signatures in parallel); checked to be exactly the
    ///   block's transactions. Nil: verify them here.
    public func validate(_ block: Block, verified preverified: [VerifiedTransaction]? = nil) throws(ChainError) -> ValidatedBlock {
        let tip = try blocks.tip()
        let header = block.header
        let schedule = try blocks.validatorSchedule()
        try checkHeader(header, tip: tip, schedule: schedule)
        try checkLastCommit(block, parentHash: tip.hash, schedule: schedule)
        let verified: [VerifiedTransaction]
        if let preverified {
            guard preverified.map(\.signed) == block.transactions else {
                throw ChainError(.badTransaction, "block \(header.height): the pre-verified transactions are not the block's")
            }
            guard Block.transactionsRoot(preverified.map(\.id)) == header.transactionsRoot else {
                throw ChainError(.badTransactionsRoot, "block \(block.height) (\(block.hash)): the transactions do not match the header's transactions root \(header.transactionsRoot)")
            }
            verified = preverified
        } else {
            verified = try verifyTransactions(block)
        }
        do {
            let execution = try blocks.ledger.execute(verified, context: BlockContext(height: header.height, timestamp: header.timestamp), store: blocks.store, mode: .validate)
            guard execution.stateRoot == header.stateRoot else {
                throw ChainError(.badStateRoot, "block \(header.height) (\(block.hash)): state root after execution is \(execution.stateRoot), the header says \(header.stateRoot)")
            }
            return ValidatedBlock(block: block, execution: execution)
        } catch let error as ChainError {
            throw error
        } catch let rejection as BlockRejection {
            throw ChainError(.badTransaction, "block \(header.height) (\(block.hash)): \(rejection)")
        } catch {
            throw ChainError(.storage, "executing block \(header.height): \(error)")
        }
    }

    /// `schedule`: the chain's validator sets (ADR 0018), from the state or from the blocks.
    func checkHeader(_ header: BlockHeader, tip: ChainTip, schedule: ValidatorSchedule) throws(ChainError) {
        guard header.chainId == genesis.chainId else {
            throw ChainError(.wrongChain, "block \(header.height) is for chain '\(header.chainId)', not '\(genesis.chainId)'")
        }
        guard header.height == tip.height + 1 else {
            throw ChainError(.wrongHeight, "block height \(header.height) does not follow the tip \(tip.height)")
        }
        guard header.previousBlockHash == tip.hash else {
            throw ChainError(.brokenLink, "block \(header.height) names parent \(header.previousBlockHash), the block at \(tip.height) is \(tip.hash)")
        }
        guard header.timestamp > tip.timestamp else {
            throw ChainError(.badTimestamp, "block \(header.height) timestamp \(header.timestamp) is not after its parent's \(tip.timestamp)")
        }
        let validators = schedule.set(at: header.height)
        guard validators.validator(for: header.proposer) != nil else {
            throw ChainError(.badProposer, "block \(header.height) proposer \(header.proposer.address) is not a validator of the set in force")
        }
        guard header.validatorSetHash == validators.hash else {
            throw ChainError(.badValidatorSet, "block \(header.height) names validator set \(header.validatorSetHash), the set in force at that height is \(validators.hash)")
        }
    }

    func checkLastCommit(_ block: Block, parentHash: Hash, schedule: ValidatorSchedule) throws(ChainError) {
        let header = block.header
        if header.height == 1 {
            guard block.lastCommit == nil, header.lastCommitHash == .zero else {
                throw ChainError(.badCertificate, "block 1 must carry no parent certificate")
            }
            return
        }
        guard let lastCommit = block.lastCommit else {
            throw ChainError(.badCertificate, "block \(header.height) carries no certificate for its parent")
        }
        guard lastCommit.hash == header.lastCommitHash else {
            throw ChainError(.badCertificate, "block \(header.height): the carried certificate hashes to \(lastCommit.hash), the header says \(header.lastCommitHash)")
        }
        do {
            try lastCommit.verify(chainId: genesis.chainId, height: header.height - 1, blockHash: parentHash, validators: schedule.set(at: header.height - 1))
        } catch {
            throw ChainError(.badCertificate, "block \(header.height): the parent's certificate is invalid: \(error)")
        }
    }

    func verifyTransactions(_ block: Block, parts: Int = 1) throws(ChainError) -> [VerifiedTransaction] {
        try Self.verifyTransactions(block, chainId: genesis.chainId, parts: parts)
    }

    /// Blocks smaller than this are verified on one thread: handing out the work would cost
    /// more than it saves.
    static let parallelBlockMin = 64

    /// Every transaction's signature, and that they are the header's transactions root.
    /// `parts`: threads to verify on at once (a block of fewer than `parallelBlockMin`
    /// transactions is verified on the calling thread).
    static func verifyTransactions(_ block: Block, chainId: String, parts: Int = 1) throws(ChainError) -> [VerifiedTransaction] {
        let transactions = block.transactions
        let results: [Result<VerifiedTransaction, TransactionError>]
        if parts > 1 && transactions.count >= parallelBlockMin {
            results = parallelMap(transactions.indices, parts: parts) { index in
                Result { () throws(TransactionError) in try transactions[index].verified(chainId: chainId) }
            }
        } else {
            results = transactions.map { transaction in Result { () throws(TransactionError) in try transaction.verified(chainId: chainId) } }
        }
        var verified: [VerifiedTransaction] = []
        verified.reserveCapacity(transactions.count)
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let transaction): verified.append(transaction)
            case .failure(let error): throw ChainError(.badTransaction, "block \(block.height) (\(block.hash)), transaction \(index) (\(transactions[index].id)): \(error)")
            }
        }
        guard Block.transactionsRoot(verified.map(\.id)) == block.header.transactionsRoot else {
            throw ChainError(.badTransactionsRoot, "block \(block.height) (\(block.hash)): the transactions do not match the header's transactions root \(block.header.transactionsRoot)")
        }
        return verified
    }
}
