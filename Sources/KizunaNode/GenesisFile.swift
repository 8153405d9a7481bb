public import KizunaCore
import Foundation

/// A genesis file as read from disk: the genesis and the approvals it carries.
public struct GenesisFile: Sendable {
    public var genesis: Genesis
    public var approvals: [GenesisApproval]

    public init(genesis: Genesis, approvals: [GenesisApproval]) {
        self.genesis = genesis
        self.approvals = approvals
    }

    /// Reads and validates the document; checks nothing about its approvals.
    public static func read(path: String) throws(GenesisError) -> GenesisFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GenesisError(.unreadable, "cannot read the genesis file \(path)")
        }
        let document = try GenesisDocument.decode(json: data, path: path)
        return GenesisFile(genesis: try Genesis(document: document), approvals: document.approvals ?? [])
    }

    /// The file's bytes: the genesis JSON with its approvals.
    public func jsonData() -> Data { genesis.jsonData(approvals: approvals) }
}

extension Genesis {
    /// Loads the genesis document at `path` (the core types do no I/O; the node reads files)
    /// and requires every founding organisation's approval (`Genesis.requireApprovals`).
    /// - Throws: a `GenesisError`; `genesis.missing_approval` or `genesis.bad_approval` when
    ///   the approvals are incomplete or do not verify.
    public static func load(path: String) throws -> Genesis {
        let file = try GenesisFile.read(path: path)
        try file.genesis.requireApprovals(file.approvals)
        return file.genesis
    }
}
