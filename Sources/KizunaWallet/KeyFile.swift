public import Foundation
public import KizunaCore

/// A private key on disk: JSON with the public address and the 32-byte seed in hex.
/// Written with mode 0600. Never commit one, except the published development keys.
public struct KeyFile: Codable, Sendable {
    public static let kind = "kizuna-ed25519-key"

    public var kind: String
    public var address: String
    public var seed: String
    public var note: String?

    public init(key: PrivateKey, note: String? = nil) {
        kind = KeyFile.kind
        address = key.publicKey.address.description
        seed = key.seed.hexString
        self.note = note
    }

    /// A key file that cannot be read or written; the message names the file.
    public typealias LoadError = CodedError<KeyFileErrorCode>

    private static func unreadable(_ path: String, _ reason: String, cause: (any Error)? = nil) -> LoadError {
        LoadError(.unreadable, "key file \(path): \(reason)", cause: cause)
    }

    /// Reads a key file and checks that its seed gives its address.
    public static func load(path: String) throws(LoadError) -> PrivateKey {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw unreadable(path, "cannot be read (\(error.localizedDescription))", cause: error)
        }
        guard let file = try? JSONDecoder().decode(KeyFile.self, from: data) else {
            throw unreadable(path, "is not a Kizuna key file (JSON with kind, address, seed)")
        }
        guard file.kind == KeyFile.kind else { throw unreadable(path, "kind is '\(file.kind)', expected '\(KeyFile.kind)'") }
        guard let seed = [UInt8](hex: file.seed), let key = PrivateKey(seed: seed) else {
            throw unreadable(path, "seed must be 64 hex digits")
        }
        guard key.publicKey.address.description == file.address else {
            throw unreadable(path, "the seed does not belong to address \(file.address)")
        }
        return key
    }

    /// Writes the key file with owner-only permissions; refuses to overwrite an existing
    /// file (a key overwritten is a key lost). Created with O_EXCL and mode 0600, so the seed
    /// is never readable by others, not even for an instant.
    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = Array(try encoder.encode(self)) + Array("\n".utf8)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "already exists; refusing to overwrite a key file" : "cannot be created (errno \(errno))"
            throw Self.unreadable(path, reason)
        }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw Self.unreadable(path, "could not be written completely")
        }
    }
}

/// The codes of `KeyFile.LoadError`.
public enum KeyFileErrorCode: String, ErrorCode {
    /// The key file is missing, unreadable, not a key file, or could not be written.
    case unreadable = "key.unreadable"
}
