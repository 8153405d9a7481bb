import ArgumentParser
import Foundation
import KizunaConsensus
import KizunaCore
import KizunaWallet

struct SignerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signer",
        abstract: "Manage a validator key's signer record (what it last signed; see docs/consensus.md).",
        discussion: """
        The record lives beside the key, in '<key file>.signer-state'. A validator persists it \
        before any vote or proposal leaves the node and refuses to sign anything that conflicts \
        with it. A key whose record is missing refuses to sign: create the record once for a new \
        key with 'kizuna signer init'. If a record was lost, do not re-create it until the chain \
        is past every height the key may have signed.
        """,
        subcommands: [Initialize.self, Show.self, SignVotes.self]
    )

    struct Initialize: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the signer record of a new validator key.")
        @Option(help: "The validator key file.") var key: String
        @Option(help: "Where the record goes (the node's `signerStateFile`); default: beside the key, '<key file>.signer-state'.") var record: String?

        func run() throws {
            _ = try KeyFile.load(path: key)
            var store = record.map { FileSignerStateStore(recordPath: $0) } ?? FileSignerStateStore(keyPath: key)
            do {
                try store.createInitialRecord()
            } catch {
                throw ValidationError("\(error)")
            }
            print("created \(store.path)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print what the key last signed.")
        @Option(help: "The validator key file.") var key: String
        @Option(help: "The record's path, if not beside the key.") var record: String?

        func run() throws {
            do {
                let record = try (self.record.map { FileSignerStateStore(recordPath: $0) } ?? FileSignerStateStore(keyPath: key)).load()
                print("height \(record.height) round \(record.round) step \(record.step) signed-bytes \(record.signBytesHash)")
            } catch {
                print("\(error)")
                throw ExitCode(1)
            }
        }
    }

    /// Signs precommits for consecutive heights through the safe signer, printing each
    /// signature after it is persisted. Used by the crash test (a real process killed at a
    /// random instant) and to exercise a record by hand; never by a running node.
    struct SignVotes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-votes",
            abstract: "Sign precommits for heights start…start+count−1 (testing the signer's crash safety).",
            discussion: "Each block hash is SHA-256 of '<block-seed>:<height>'. Exits 3 when the signer refuses."
        )
        @Option(help: "The validator key file.") var key: String
        @Option(help: "The chain id the votes are for.") var chainId: String
        @Option(help: "First height.") var startHeight: UInt64
        @Option(help: "Number of heights.") var count: UInt64
        @Option(help: "Seed of the block hashes (different seeds make conflicting votes).") var blockSeed: String

        func run() throws {
            let privateKey = try KeyFile.load(path: key)
            var signer: SafeSigner<FileSignerStateStore>
            do {
                signer = try SafeSigner(key: Ed25519ConsensusKey(privateKey), store: FileSignerStateStore(keyPath: key))
            } catch {
                print("refused: \(error)")
                throw ExitCode(3)
            }
            var height = startHeight
            while height < startHeight + count {
                let blockHash = Hash.sha256(Array("\(blockSeed):\(height)".utf8))
                let bytes = voteSigningBytes(chainId: chainId, height: height, round: 0, step: .precommit, blockHash: blockHash)
                do {
                    let signature = try signer.sign(height: height, round: 0, step: .precommit, signBytes: bytes)
                    // Unbuffered: a line on stdout means the signature was released.
                    FileHandle.standardOutput.write(Data("signed \(height) \(blockHash.hex) \(signature.bytes.hexString)\n".utf8))
                } catch {
                    FileHandle.standardOutput.write(Data("refused: \(error)\n".utf8))
                    throw ExitCode(3)
                }
                height += 1
            }
        }
    }
}
