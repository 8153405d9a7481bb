import ArgumentParser
import KizunaCore
import KizunaWallet

/// A `kizuna wallet` subcommand that submits one transaction signed by the key alone: `body()`
/// checks the options and builds the transaction before any key is read or the node is asked;
/// `run` signs and submits it (`WalletCommand.Submission.submit`).
protocol WalletSubmittingCommand: AsyncParsableCommand {
    var submission: WalletCommand.Submission { get }
    func body() throws -> TransactionBody
}

extension WalletSubmittingCommand {
    func run() async throws {
        let body = try self.body()
        try await submission.submit { _ in body }
    }
}

/// How `kizuna wallet` reads option values: each refusal names its option.
extension WalletCommand {
    /// `--option`'s value as a hash (64 hex digits), e.g. an invoice's or a standing order's id.
    static func hash(_ text: String, _ option: String) throws -> Hash {
        guard let hash = Hash(hex: text) else { throw ValidationError("--\(option) must be 64 hex digits") }
        return hash
    }

    /// `--option`'s value as an RFC 3339 time (UTC milliseconds), or `absent` when not given.
    static func time(_ text: String?, _ option: String, absent: UInt64) throws -> UInt64 {
        guard let text else { return absent }
        guard let value = CivilTime.parseRFC3339(text) else { throw ValidationError("--\(option) '\(text)' is not an RFC 3339 time") }
        return value
    }

    /// The case of `T` whose `name` is `text`, or a refusal with `message`.
    static func named<T: CaseIterable>(_ text: String, _ name: KeyPath<T, String>, else message: @autoclosure () -> String) throws -> T {
        guard let value = T.allCases.first(where: { $0[keyPath: name] == text }) else { throw ValidationError(message()) }
        return value
    }

    /// `--option`'s value as an account address (kz1…).
    static func account(_ text: String, _ option: String) throws -> PublicKey {
        do {
            return try Address(parsing: text).publicKey
        } catch {
            throw ValidationError("--\(option): \(error)")
        }
    }
}
