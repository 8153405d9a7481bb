import ArgumentParser
import Foundation
import KizunaWallet

/// How `kizuna wallet` ends after a submission: 0 only when the transaction
/// committed (or, with `--no-wait`, was admitted), so a script or a till never takes a
/// payment that did not happen for one that did (docs/api.md §9).
enum SubmissionOutcome {
    /// Exit status when the node refused or rejected the transaction (its code is printed).
    static let refused: Int32 = 1
    /// Exit status when the wait ended with the transaction still pending: it may still
    /// commit; ask `GET /v1/transactions/{id}` later.
    static let stillPending: Int32 = 2

    /// Prints the node's answer and a one-line verdict on standard error; throws the exit
    /// status unless the transaction committed (or was admitted, when not waiting).
    static func finish(_ reply: NodeClient.Reply, waited: Bool) throws {
        print(reply.text)
        let json = reply.json
        let status = json?["status"] as? String
        let code = (json?["code"] as? String).map { " \($0)" } ?? ""
        let message = (json?["message"] as? String) ?? (json?["detail"] as? String) ?? ""
        guard reply.isSuccess else {
            FileHandle.standardError.write(Data("not committed: refused\(code) (HTTP \(reply.statusCode)) \(message)\n".utf8))
            throw ExitCode(refused)
        }
        if waited && status != "committed" {
            FileHandle.standardError.write(Data("not committed yet: still \(status ?? "pending")\(code) \(message)\n".utf8))
            throw ExitCode(stillPending)
        }
    }
}
