public import KizunaCore
public import KizunaChain
import KizunaRocksDB
import KizunaStorage
import Foundation

/// State snapshot files (`docs/snapshots.md`, ADR 0017): written by a running node, read by a
/// node that starts from one (`kizuna node --from-snapshot`) and by `kizuna snapshot verify`.
///
/// The running node takes a RocksDB checkpoint of its store first (as a backup does, ADR 0011:
/// hard links, consistent) and encodes the snapshot from that copy, so the tip block, its
/// certificate and every state record are of one height while the node keeps committing.
public enum NodeSnapshot {
    /// Writes the snapshot of `blocks` at its tip (read from a checkpoint) to `file`.
    /// - Throws: `snapshot.bad_target` (relative path, exists, or no parent folder),
    ///   `snapshot.unsupported_store`, `snapshot.at_genesis`, `snapshot.read_failed`,
    ///   `snapshot.write_failed`.
    public static func create(blocks: BlockStore, to file: String) throws(SnapshotError) -> StateSnapshot.Summary {
        if let problem = NodeBackup.newTargetProblem(file, what: "snapshot file") { throw SnapshotError(.badTarget, problem) }
        let fileManager = FileManager.default
        guard let store = blocks.store as? RocksDBStore else {
            throw SnapshotError(.unsupportedStore, "this node's store is not a RocksDB store; a snapshot is read from a checkpoint of one")
        }
        // Beside the store (same file system: the checkpoint is hard links), removed at the end.
        let checkpoint = store.path + "-snapshot-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? fileManager.removeItem(atPath: checkpoint) }
        do {
            try store.checkpoint(to: checkpoint)
        } catch {
            throw SnapshotError(.readFailed, "taking a checkpoint of the store: \(error)", cause: error)
        }
        let encoded: (summary: StateSnapshot.Summary, bytes: [UInt8])
        do {
            let copy = try RocksDBStore(path: checkpoint, readOnly: true)
            defer { copy.close() }
            encoded = try StateSnapshot.encode(try BlockStore(store: copy, genesis: blocks.genesis))
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw SnapshotError(.readFailed, "reading the checkpoint \(checkpoint): \(error)", cause: error)
        }
        let partial = file + ".partial"
        do {
            try Data(encoded.bytes).write(to: URL(fileURLWithPath: partial), options: .atomic)
            try fileManager.moveItem(atPath: partial, toPath: file)
        } catch {
            try? fileManager.removeItem(atPath: partial)
            throw SnapshotError(.writeFailed, "writing \(file): \(error)", cause: error)
        }
        return encoded.summary
    }

    /// Reads the snapshot file at `path` and checks it against `genesis` (`StateSnapshot.verify`).
    public static func load(path: String, genesis: Genesis) throws(SnapshotError) -> StateSnapshot.Verified {
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw SnapshotError(.readFailed, "cannot read the snapshot file \(path): \(error)", cause: error)
        }
        return try StateSnapshot.verify(bytes, genesis: genesis)
    }

    /// What `prepare` did with the snapshot a node was started with.
    public enum Start: Sendable {
        /// The store held no chain: the snapshot was verified and installed.
        case installed(StateSnapshot.Summary)
        /// The store already holds a chain (a restart): the snapshot was not read.
        case alreadyHeld(tipHeight: UInt64)
    }

    /// Before a node opens its chain: installs the snapshot at `path` into `store` when the
    /// store holds no chain yet, after verifying it; leaves a store that holds one as it is (the
    /// node restarted with the same command line).
    public static func prepare(store: any KeyValueStore, snapshotPath path: String, genesis: Genesis) throws(SnapshotError) -> Start {
        if let tipHeight = try StateSnapshot.heldTipHeight(in: store) { return .alreadyHeld(tipHeight: tipHeight) }
        let verified = try load(path: path, genesis: genesis)
        try StateSnapshot.install(verified, into: store, genesis: genesis)
        return .installed(verified.summary)
    }
}

extension Node {
    /// Writes a snapshot of this node's state at its tip into `file` (a new file on the node's
    /// machine) while the node runs: `NodeSnapshot.create`. Blocking work; call it off the actor.
    public nonisolated func snapshot(to file: String) throws(SnapshotError) -> StateSnapshot.Summary {
        try NodeSnapshot.create(blocks: blocks, to: file)
    }

    /// The first block height this node holds: 1 for an archive node, the snapshot's height
    /// for one started from a snapshot.
    public nonisolated var firstHeldHeight: UInt64 { max(1, blocks.snapshotHeight) }
}
