import ArgumentParser
import Foundation
import KizunaConsensus
import KizunaCore
import KizunaWallet
import KizunaChain
import KizunaNode

struct SignerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signer",
        abstract: "Manage a validator's signer record (what its key last signed; see docs/consensus.md).",
        discussion: """
        The record lives in the node's consensus journal, in its data folder ('<dataDirectory>/chain'), \
        with the lock and the messages the validator signed at the height being decided. A validator \
        persists it in the same synced write as the message it signs, before the message leaves the \
        node, and refuses to sign anything that conflicts with it. A data folder without a record \
        refuses to sign: create the record once for a new validator with 'kizuna signer init --data \
        <dataDirectory>', with the node stopped. If a record was lost (a data folder deleted), do not \
        re-create it until the chain is past every height the key may have signed. A record file of \
        an earlier version ('signerStateFile', '<key file>.signer-state') is imported by the node at \
        its first start and renamed '<file>.imported'.
        """,
        subcommands: [Initialize.self, Show.self, SignVotes.self]
    )

    struct Initialize: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the signer record of a new validator in its data folder.")
        @Option(help: "The node's data folder (its `dataDirectory`); created if missing.") var data: String

        func run() throws {
            try refusingAsUsage { try ValidatorJournal.initialize(dataDirectory: data) }
            print("created the signer record in \(ValidatorJournal.storePath(dataDirectory: data))")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print what the validator last signed (with the node stopped).")
        @Option(help: "The node's data folder (its `dataDirectory`).") var data: String

        func run() throws {
            do {
                guard let record = try ValidatorJournal.record(dataDirectory: data) else {
                    print("signer.record_missing: no signer record in \(ValidatorJournal.storePath(dataDirectory: data))")
                    throw ExitCode(1)
                }
                print("height \(record.height) round \(record.round) step \(record.step) signed-bytes \(record.signBytesHash)")
            } catch let error as SignerError {
                print("\(error)")
                throw ExitCode(1)
            }
        }
    }

    /// Signs precommits for consecutive heights through the safe signer and the data folder's
    /// journal, printing each signature after it is persisted. Used by the crash test (a real
    /// process killed at a random instant) and to exercise a record by hand; never by a running node.
    struct SignVotes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-votes",
            abstract: "Sign precommits for heights start…start+count−1 (testing the signer's crash safety).",
            discussion: "Each block hash is SHA-256 of '<block-seed>:<height>'. Exits 3 when the signer refuses."
        )
        @Option(help: "The validator key file.") var key: String
        @Option(help: "The data folder whose journal holds the record (`kizuna signer init --data`).") var data: String
        @Option(help: "The chain id the votes are for.") var chainId: String
        @Option(help: "First height.") var startHeight: UInt64
        @Option(help: "Number of heights.") var count: UInt64
        @Option(help: "Seed of the block hashes (different seeds make conflicting votes).") var blockSeed: String

        func run() throws {
            let privateKey = try KeyFile.load(path: key)
            let outcome: Int32 = (try? ValidatorJournal.withJournal(dataDirectory: data, create: false) { (journal: inout StoreConsensusJournal) throws(SignerError) -> Int32 in
                guard let record = try journal.signerRecord() else {
                    print("refused: \(SignerError(.recordMissing, "no signer record"))")
                    return 3
                }
                var signer = SafeSigner(key: Ed25519ConsensusKey(privateKey), record: record)
                var height = startHeight
                while height < startHeight + count {
                    let blockHash = Hash.sha256(Array("\(blockSeed):\(height)".utf8))
                    let vote = UnsignedVote(step: .precommit, height: height, round: 0, blockHash: blockHash, validator: privateKey.publicKey)
                    do {
                        let signed = try signer.signVote(vote, chainId: chainId, journal: &journal)
                        // Unbuffered: a line on stdout means the signature was released.
                        FileHandle.standardOutput.write(Data("signed \(height) \(blockHash.hex) \(signed.signature.bytes.hexString)\n".utf8))
                    } catch {
                        FileHandle.standardOutput.write(Data("refused: \(error)\n".utf8))
                        return 3
                    }
                    height += 1
                }
                return 0
            }) ?? 3
            if outcome != 0 { throw ExitCode(outcome) }
        }
    }
}
