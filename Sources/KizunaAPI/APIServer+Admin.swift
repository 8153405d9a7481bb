import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import NIOCore
import Foundation
import Logging

/// Operator actions on the node itself (`docs/api.md` §1, `docs/operations.md` "Backup and
/// restore", `docs/snapshots.md`): for consortium **members** only. An auditor reads the chain;
/// a backup or a snapshot writes to the node's disk, which only the organisation running the
/// node (a member) may ask for.
extension APIServer {
    struct BackupRequest: Decodable {
        /// An absolute path on the node's machine; must not exist, its parent must.
        var to: String
    }

    struct BackupResponse: Encodable {
        var folder: String
        var chainId: String
        var height: UInt64
        var tipHash: String
        var stateRoot: String
        var files: Int
        var bytes: UInt64
    }

    struct SnapshotResponse: Encodable {
        var file: String
        var chainId: String
        var height: UInt64
        var blockHash: String
        var stateRoot: String
        var records: Int
        var bytes: Int
    }

    /// Runs blocking `work` in a detached task, off the server's event loops; its coded error
    /// becomes a problem with that code, its message and the HTTP status `status` gives.
    static func detached<Value: Sendable, Code: ErrorCode>(
        _ work: @escaping @Sendable () throws(CodedError<Code>) -> Value, status: (Code) -> Int
    ) async throws(APIProblem) -> Value {
        let result = await Task.detached { () -> Result<Value, CodedError<Code>> in
            do throws(CodedError<Code>) {
                return .success(try work())
            } catch {
                return .failure(error)
            }
        }.value
        switch result {
        case .success(let value): return value
        case .failure(let error): throw APIProblem(status(error.code), error.code.rawValue, error.message)
        }
    }

    static func addAdminRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        router.post("/v1/admin/backup") { request, _ in
            let target = try await adminTarget(request, shared, what: "backup", path: "folder")
            // RocksDB's checkpoint blocks (a flush and file links); keep it off the server's loops.
            let manifest = try await detached { () throws(BackupError) in try node.backup(to: target) } status: { code in
                switch code {
                case .badTarget: 400
                case .unsupportedStore: 501
                default: 500
                }
            }
            shared.logger.notice("backup written", metadata: ["folder": "\(target)", "height": "\(manifest.height)", "tip": "\(manifest.tipHash)"])
            return try json(BackupResponse(folder: target, chainId: manifest.chainId, height: manifest.height, tipHash: manifest.tipHash,
                                           stateRoot: manifest.stateRoot, files: manifest.files.count, bytes: manifest.files.reduce(0) { $0 + $1.bytes }))
        }
        router.post("/v1/admin/snapshot") { request, _ in
            let target = try await adminTarget(request, shared, what: "snapshot", path: "file")
            // A checkpoint, then a scan of the state: blocking work, off the server's loops.
            let summary = try await detached { () throws(SnapshotError) in try node.snapshot(to: target) } status: { code in
                switch code {
                case .badTarget: 400
                case .atGenesis: 409
                case .unsupportedStore: 501
                default: 500
                }
            }
            shared.logger.notice("snapshot written", metadata: ["file": "\(target)", "height": "\(summary.height)", "block": "\(summary.blockHash)"])
            return try json(SnapshotResponse(file: target, chainId: summary.chainId, height: summary.height, blockHash: summary.blockHash.hex,
                                             stateRoot: summary.stateRoot.hex, records: summary.records, bytes: summary.bytes))
        }
    }

    /// The member check and the `{"to": …}` body of an operator route that writes `what` to
    /// the node's disk; returns the target path.
    static func adminTarget(_ request: Request, _ shared: Shared, what: String, path: String) async throws -> String {
        switch try caller(request, shared) {
        case .member: break
        case .anonymous:
            throw APIProblem(401, "auth.required", "a \(what) is for consortium members (Authorization: Bearer <member token>)")
        case .auditor, .account:
            throw APIProblem(403, "auth.forbidden", "a \(what) writes to the node's disk: only a consortium member's token may ask for one, not an auditor's or an account's")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 4096)
        } catch {
            throw APIProblem(413, "api.body_too_large", "the body of a \(what) request is {\"to\": \"<\(path)>\"}, at most 4096 bytes")
        }
        do {
            return try JSONDecoder().decode(BackupRequest.self, from: Data(buffer.readableBytesView)).to
        } catch {
            throw APIProblem(400, "api.bad_body", "send {\"to\": \"<absolute path of a new \(path) on the node's machine>\"} as application/json")
        }
    }
}
