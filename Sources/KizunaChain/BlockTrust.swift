public import KizunaCore
public import KizunaLedger

// What is known about a block is in its type (`docs/architecture.md`, "Trust in types"):
//
//   Block               off the wire, from a peer or a file: nothing is known about it
//   ValidatedBlock      this node executed it on its tip: header, parent certificate, every
//                       signature and the state root check out (only `BlockValidator` makes one)
//   CommittedBlock      a validated block with a commit certificate that verified against the
//                       validator set (only `ValidatedBlock.committed(by:…)` makes one)
//
// `BlockStore.commit` takes only a `CommittedBlock`, so nothing reaches the store that this node
// did not validate and see certified.

/// A block this node executed on its tip and found valid, with the execution to write.
public struct ValidatedBlock: Sendable {
    public let block: Block
    public let execution: BlockExecution

    /// Only `BlockValidator` validates.
    init(block: Block, execution: BlockExecution) {
        precondition(execution.stateRoot == block.header.stateRoot, "a validated block's execution ends at its header's state root")
        self.block = block
        self.execution = execution
    }

    public var hash: Hash { block.hash }
    public var height: UInt64 { block.height }

    /// The block committed by `certificate`, once the certificate verifies for this block
    /// against `validators` (more than 2/3 of the power, every signature valid).
    public func committed(by certificate: CommitCertificate, chainId: String, validators: ValidatorSet) throws(CertificateError) -> CommittedBlock {
        try certificate.verify(chainId: chainId, height: block.height, blockHash: block.hash, validators: validators)
        return CommittedBlock(validated: self, certificate: certificate)
    }
}

/// A validated block with the commit certificate that verified for it: what the store writes.
public struct CommittedBlock: Sendable {
    public let validated: ValidatedBlock
    public let certificate: CommitCertificate

    fileprivate init(validated: ValidatedBlock, certificate: CommitCertificate) {
        self.validated = validated
        self.certificate = certificate
    }

    public var block: Block { validated.block }
    public var execution: BlockExecution { validated.execution }
    public var height: UInt64 { validated.height }
}
