public import KizunaCore
public import KizunaChain
import KizunaRocksDB
import KizunaStorage
import Foundation

/// Backups of a running node's store and their restore into a new data folder
/// (`docs/operations.md` "Backup and restore", `docs/storage.md`).
///
/// A backup folder holds `chain/` — a RocksDB checkpoint of the node's store, taken by the node
/// process itself (it holds the store's lock) — and `backup.json`, the manifest: chain, genesis
/// hash, the height, tip hash and state root the checkpoint holds, and every file of `chain/`
/// with its size and SHA-256. The manifest is written last, so a folder without it is an
/// interrupted backup.
///
/// A restore checks the files against the manifest, copies them into `<data>/chain`, **empties
/// the consensus journal** of the copy (the signer record in a backup is from the past: a
/// validator signing from it could sign twice at a height it already signed, `docs/consensus.md`
/// §7), optionally puts in its place the journal of the validator's current data folder, and
/// verifies the copy with the `ChainVerifier` a node runs on start.
public enum NodeBackup {
    public static let manifestFile = "backup.json"
    public static let storeFolder = "chain"
    public static let format = "kizuna-backup/1"

    public struct Manifest: Codable, Sendable, Equatable {
        public struct File: Codable, Sendable, Equatable {
            public var path: String
            public var bytes: UInt64
            public var sha256: String
        }

        public var format: String
        public var chainId: String
        public var genesisHash: String
        public var height: UInt64
        public var tipHash: String
        public var stateRoot: String
        public var files: [File]
    }

    /// What a restore produced: the verified chain of the new data folder.
    public struct Restored: Sendable {
        public var manifest: Manifest
        public var summary: ChainVerifier.Summary
        /// Entries of the consensus journal copied from `keepJournalFrom` (0 if none given).
        public var journalEntriesKept: Int
    }

    // MARK: - Backup (in the node process)

    /// Checkpoints `blocks`' RocksDB store into `folder/chain` and writes the manifest.
    /// - Throws: `backup.bad_target` (relative path, exists, or no parent folder),
    ///   `backup.unsupported_store` (not a RocksDB store), `backup.checkpoint_failed`.
    public static func create(blocks: BlockStore, to folder: String) throws(BackupError) -> Manifest {
        if let problem = newTargetProblem(folder, what: "backup folder") { throw BackupError(.badTarget, problem) }
        let fileManager = FileManager.default
        guard let store = blocks.store as? RocksDBStore else {
            throw BackupError(.unsupportedStore, "this node's store is not a RocksDB store; only a RocksDB data folder can be backed up")
        }
        do {
            try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: false)
        } catch {
            throw BackupError(.badTarget, "cannot create the backup folder \(folder): \(error)")
        }
        let chainFolder = folder + "/" + storeFolder
        do {
            try store.checkpoint(to: chainFolder)
        } catch {
            try? fileManager.removeItem(atPath: folder)
            throw BackupError(.checkpointFailed, "\(error)", cause: error)
        }
        do {
            // The checkpoint's own tip (the node has moved on since): read from the copy.
            let copy = try RocksDBStore(path: chainFolder, readOnly: true)
            defer { copy.close() }
            let tip = try BlockStore(store: copy, genesis: blocks.genesis).tip()
            let manifest = Manifest(
                format: format, chainId: blocks.genesis.chainId, genesisHash: blocks.genesis.hash.hex,
                height: tip.height, tipHash: tip.hash.hex, stateRoot: tip.stateRoot.hex,
                files: try listFiles(in: chainFolder))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let manifestPath = folder + "/" + manifestFile
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: manifestPath + ".partial"))
            try fileManager.moveItem(atPath: manifestPath + ".partial", toPath: manifestPath)
            return manifest
        } catch {
            try? fileManager.removeItem(atPath: folder)
            throw BackupError(.checkpointFailed, "the checkpoint in \(chainFolder) could not be read back: \(error)", cause: error)
        }
    }

    /// Why `path` cannot be the new file or folder an operator route writes on the node's
    /// machine (a backup, a snapshot), or nil: it must be absolute, new, and in a folder that exists.
    static func newTargetProblem(_ path: String, what: String) -> String? {
        guard path.hasPrefix("/") else { return "the \(what) must be an absolute path on the node's machine, not '\(path)'" }
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path) { return "\(path) exists already; a \(what) is written to a new path (its parent folder must exist)" }
        let parent = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            return "the parent folder \(parent) of the \(what) does not exist on the node's machine; create it first"
        }
        return nil
    }

    /// Every regular file under `folder` (relative paths, sorted), with size and SHA-256.
    public static func listFiles(in folder: String) throws -> [Manifest.File] {
        let fileManager = FileManager.default
        let names = try fileManager.subpathsOfDirectory(atPath: folder).sorted()
        var files: [Manifest.File] = []
        for name in names {
            let path = folder + "/" + name
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            files.append(.init(path: name, bytes: UInt64(data.count), sha256: Hash.sha256(data).hex))
        }
        return files
    }

    // MARK: - Restore (offline, in the CLI)

    /// Reads and checks the backup at `folder` against the manifest and `genesis`.
    /// - Throws: `backup.incomplete` (no manifest, or a file of it missing), `backup.tampered`
    ///   (a file's size or hash differs, an extra file, an unreadable manifest),
    ///   `backup.other_chain` (another genesis).
    public static func check(backup folder: String, genesis: Genesis) throws(BackupError) -> Manifest {
        let manifestPath = folder + "/" + manifestFile
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw BackupError(.incomplete, "\(folder) has no \(manifestFile): it is not a Kizuna backup, or the backup was interrupted; take a new one")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        } catch {
            throw BackupError(.tampered, "\(manifestPath) is not a readable backup manifest: \(error)")
        }
        guard manifest.format == format else {
            throw BackupError(.tampered, "\(manifestPath) is of format '\(manifest.format)', this version reads '\(format)'")
        }
        guard manifest.genesisHash == genesis.hash.hex, manifest.chainId == genesis.chainId else {
            throw BackupError(.otherChain, "the backup is of chain '\(manifest.chainId)' (genesis \(manifest.genesisHash)), the genesis given is of '\(genesis.chainId)' (\(genesis.hash.hex))")
        }
        let chainFolder = folder + "/" + storeFolder
        let present: [Manifest.File]
        do {
            present = FileManager.default.fileExists(atPath: chainFolder) ? try listFiles(in: chainFolder) : []
        } catch {
            throw BackupError(.incomplete, "cannot read the files of \(chainFolder): \(error)")
        }
        let byPath = Dictionary(present.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        for expected in manifest.files {
            guard let found = byPath[expected.path] else {
                throw BackupError(.incomplete, "the backup lacks \(storeFolder)/\(expected.path) (\(expected.bytes) bytes); it cannot be restored")
            }
            guard found == expected else {
                throw BackupError(.tampered, "\(storeFolder)/\(expected.path) differs from the manifest (\(found.bytes) bytes, SHA-256 \(found.sha256); expected \(expected.bytes) bytes, \(expected.sha256)): the backup was changed or damaged")
            }
        }
        let listed = Set(manifest.files.map(\.path))
        if let extra = present.first(where: { !listed.contains($0.path) }) {
            throw BackupError(.tampered, "\(storeFolder)/\(extra.path) is not in the manifest: the backup was changed")
        }
        return manifest
    }

    /// Restores the backup at `backup` into the data folder `dataDirectory` (absent or empty),
    /// verifies it, and returns the verified chain. On any failure the copied store is removed.
    /// - Parameter keepJournalFrom: a validator's current data folder (its node stopped): its
    ///   consensus journal — the signer record, lock and messages of the height being decided —
    ///   replaces the backup's, so the restored validator never signs behind what it signed.
    /// - Throws: `BackupError` (see `check`), `restore.target_not_empty`,
    ///   `restore.copy_failed`, `restore.journal`, `restore.verify_failed`.
    public static func restore(backup: String, to dataDirectory: String, genesis: Genesis,
                               keepJournalFrom: String? = nil) throws(BackupError) -> Restored {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: dataDirectory, isDirectory: &isDirectory) {
            let contents = isDirectory.boolValue ? ((try? fileManager.contentsOfDirectory(atPath: dataDirectory)) ?? ["?"]) : ["?"]
            if !contents.isEmpty {
                throw BackupError(.targetNotEmpty, "\(dataDirectory) exists and is not an empty folder; restore into a new data folder (a restore never overwrites one)")
            }
        }
        let manifest = try check(backup: backup, genesis: genesis)
        let chainFolder = dataDirectory + "/" + storeFolder
        do {
            try fileManager.createDirectory(atPath: chainFolder, withIntermediateDirectories: true)
            for file in manifest.files {
                let target = chainFolder + "/" + file.path
                let parent = (target as NSString).deletingLastPathComponent
                try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
                try fileManager.copyItem(atPath: backup + "/" + storeFolder + "/" + file.path, toPath: target)
            }
            // Checked again after the copy: what is restored is what the manifest lists.
            guard try listFiles(in: chainFolder) == manifest.files else {
                throw BackupError(.tampered, "the copied files differ from the manifest (the backup changed during the restore?)")
            }
        } catch {
            try? fileManager.removeItem(atPath: chainFolder)
            if let backupError = error as? BackupError { throw backupError }
            throw BackupError(.copyFailed, "copying the backup into \(chainFolder): \(error)", cause: error)
        }
        do throws(BackupError) {
            let restored = try restoreStore(chainFolder: chainFolder, manifest: manifest, genesis: genesis, keepJournalFrom: keepJournalFrom)
            return restored
        } catch {
            try? fileManager.removeItem(atPath: chainFolder)
            throw error
        }
    }

    private static func restoreStore(chainFolder: String, manifest: Manifest, genesis: Genesis,
                                     keepJournalFrom: String?) throws(BackupError) -> Restored {
        // The journal to keep is read first: if it cannot be read nothing is half-done.
        var kept: [(key: [UInt8], value: [UInt8])] = []
        if let keepJournalFrom {
            let oldPath = keepJournalFrom + "/" + storeFolder
            guard oldPath != chainFolder else {
                throw BackupError(.journal, "--keep-journal-from must be the validator's current data folder, not the restore's target")
            }
            do {
                let old = try RocksDBStore(path: oldPath, readOnly: true)
                defer { old.close() }
                kept = try old.entries(withPrefix: [], in: .consensus)
            } catch {
                throw BackupError(.journal, "cannot read the consensus journal of \(oldPath) (is it the validator's data folder?): \(error)", cause: error)
            }
            guard kept.contains(where: { $0.key == Array("signer".utf8) }) else {
                throw BackupError(.journal, "\(oldPath) holds no signer record; it is not the data folder of a validator that has run (nothing to keep)")
            }
        }
        let store: RocksDBStore
        do {
            store = try RocksDBStore(path: chainFolder)
        } catch {
            throw BackupError(.verifyFailed, "the restored store does not open: \(error)", cause: error)
        }
        defer { store.close() }
        do {
            var batch = WriteBatch()
            for entry in try store.entries(withPrefix: [], in: .consensus) { batch.delete(entry.key, in: .consensus) }
            for entry in kept { batch.put(entry.value, for: entry.key, in: .consensus) }
            try store.write(batch, sync: true)
        } catch {
            throw BackupError(.journal, "replacing the consensus journal of the restored store: \(error)", cause: error)
        }
        let summary: ChainVerifier.Summary
        do {
            let blocks = try BlockStore(store: store, genesis: genesis)
            summary = try ChainVerifier(blocks: blocks).verify()
        } catch {
            throw BackupError(.verifyFailed, "the restored chain does not verify: \(error)", cause: error)
        }
        guard summary.height == manifest.height, summary.tipHash.hex == manifest.tipHash, summary.stateRoot.hex == manifest.stateRoot else {
            throw BackupError(.verifyFailed, "the restored chain ends at height \(summary.height) (\(summary.tipHash)), the manifest says \(manifest.height) (\(manifest.tipHash))")
        }
        return Restored(manifest: manifest, summary: summary, journalEntriesKept: kept.count)
    }
}

/// The codes of `BackupError` (`docs/operations.md` "Backup and restore").
public enum BackupErrorCode: String, ErrorCode {
    /// The backup folder is relative, exists already, or has no parent folder.
    case badTarget = "backup.bad_target"
    /// The node's store is not RocksDB (an in-memory store of a test).
    case unsupportedStore = "backup.unsupported_store"
    /// RocksDB could not write the checkpoint, or it could not be read back.
    case checkpointFailed = "backup.checkpoint_failed"
    /// No manifest, or a file it lists is missing.
    case incomplete = "backup.incomplete"
    /// A file differs from the manifest, an extra file, or an unreadable manifest.
    case tampered = "backup.tampered"
    /// The backup is of another chain than the genesis given.
    case otherChain = "backup.other_chain"
    /// The restore's data folder exists and is not empty.
    case targetNotEmpty = "restore.target_not_empty"
    /// Copying the files failed (disk full, permissions).
    case copyFailed = "restore.copy_failed"
    /// The journal to keep could not be read, or the restored one could not be replaced.
    case journal = "restore.journal"
    /// The restored store does not open or its chain does not verify.
    case verifyFailed = "restore.verify_failed"
}

public typealias BackupError = CodedError<BackupErrorCode>

extension Node {
    /// Takes a backup of this node's store into `folder` (a new folder on the node's machine)
    /// while the node runs: `NodeBackup.create`. Blocking work; call it off the node's actor.
    public nonisolated func backup(to folder: String) throws(BackupError) -> NodeBackup.Manifest {
        try NodeBackup.create(blocks: blocks, to: folder)
    }
}
