public import KizunaCore

/// Why a chain or a block was refused. Compares on the code only. The message names what
/// is wrong and where (height, hash, key).
public typealias ChainError = CodedError<ChainErrorCode>

/// The codes of `ChainError`.
public enum ChainErrorCode: String, ErrorCode {
    case genesisMismatch = "chain.genesis_mismatch"
    case corruptBlock = "chain.corrupt_block"
    case brokenLink = "chain.broken_link"
    case badTransactionsRoot = "chain.bad_transactions_root"
    case badCertificate = "chain.bad_certificate"
    case badStateRoot = "chain.bad_state_root"
    case corruptState = "chain.corrupt_state"
    case corruptIndex = "chain.corrupt_index"
    case missingBlock = "chain.missing_block"
    case wrongHeight = "chain.wrong_height"
    case badTimestamp = "chain.bad_timestamp"
    case badProposer = "chain.bad_proposer"
    case badValidatorSet = "chain.bad_validator_set"
    case badTransaction = "chain.bad_transaction"
    case wrongChain = "chain.wrong_chain"
    case storage = "chain.storage"
    /// The data folder's store format version is one this code cannot read (a newer one).
    case unsupportedFormat = "chain.unsupported_format"
    /// The node started from a state snapshot at a height above the one asked for: it holds
    /// no block (nor certificate) below its snapshot (`docs/snapshots.md`); an archive node does.
    case beforeSnapshot = "chain.before_snapshot"
}
