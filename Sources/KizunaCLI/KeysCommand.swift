import ArgumentParser
import Foundation
import KizunaCore
import KizunaKeyStore
import KizunaWallet

/// The public half of one organisation's keys, written by `kizuna keys` and read by
/// `kizuna genesis assemble`: names and addresses only, safe to send to the other founders.
struct OrganisationKeys: Codable {
    static let kind = "kizuna-organisation-keys"

    struct ValidatorEntry: Codable {
        var name: String
        var publicKey: String
        var votingPower: UInt64
    }

    var kind: String
    var organisation: String
    var validators: [ValidatorEntry]
    /// Authority role (coinIssuer, registrar, city, auditor) → address.
    var authorities: [String: String]

    static func load(path: String) throws -> OrganisationKeys {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the organisation file \(path)")
        }
        guard let keys = try? JSONDecoder().decode(OrganisationKeys.self, from: data), keys.kind == kind else {
            throw ValidationError("\(path) is not an organisation file written by `kizuna keys` (kind \(kind))")
        }
        return keys
    }
}

/// The passphrase given by `--passphrase-file`, or by the file named in
/// KIZUNA_KEY_PASSPHRASE_FILE; nil when neither is set.
func passphrase(file: String?) throws -> String? {
    guard let path = file ?? ProcessInfo.processInfo.environment["KIZUNA_KEY_PASSPHRASE_FILE"] else { return nil }
    return try refusingAsUsage { try KeyStore.readPassphrase(path: path) }
}

/// Loads a plain or sealed key file, turning its coded error into the CLI's message.
func loadKey(path: String, passphraseFile: String?) throws -> PrivateKey {
    try refusingAsUsage { try KeyStore.load(path: path, passphrase: try passphrase(file: passphraseFile)) }
}

/// `--key` and `--passphrase-file` of the commands that approve a document with a validator's
/// key (`kizuna genesis sign`, `kizuna governance sign`).
struct ApproverKey: ParsableArguments {
    @Option(help: "Your validator key file (plain or sealed).") var key: String
    @Option(help: "File whose first line is the key's passphrase (sealed keys).") var passphraseFile: String?

    func load() throws -> PrivateKey { try loadKey(path: key, passphraseFile: passphraseFile) }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate an organisation's validator and authority keys on this machine (key ceremony).",
        discussion: """
        Writes one key file per validator (validator-NAME.key.json) and per authority role \
        (ROLE.key.json) into --out (created with mode 0700; files mode 0600; never \
        overwritten), sealed with the passphrase of --passphrase-file when given (scrypt + \
        ChaCha20-Poly1305), and organisation.json: the public addresses to send to whoever \
        assembles the genesis (`kizuna genesis assemble`). See docs/operations.md, "Key ceremony".
        Example: kizuna keys --organisation 'Example City' --validator city --authority city --out keys/city --passphrase-file pass.txt
        """
    )

    static let roles = ["coin-issuer": "coinIssuer", "registrar": "registrar", "city": "city", "auditor": "auditor"]

    @Option(help: "The organisation's name, as the genesis will show it.") var organisation: String
    @Option(help: "A validator name (1–64 bytes) this organisation runs. Repeat for several.") var validator: [String]
    @Option(help: "Voting power of each validator.") var votingPower: UInt64 = 1
    @Option(help: "An authority role this organisation holds: coin-issuer, registrar, city or auditor. Repeat for several.") var authority: [String] = []
    @Option(help: "Folder to write the keys to (created, mode 0700).") var out: String
    @Option(help: "File whose first line is the passphrase that seals the keys (at least 12 characters). Without it the keys are written unencrypted.") var passphraseFile: String?

    func validate() throws {
        guard !validator.isEmpty else { throw ValidationError("name at least one --validator") }
        guard Set(validator).count == validator.count else { throw ValidationError("each --validator name once") }
        for role in authority where Self.roles[role] == nil {
            throw ValidationError("--authority '\(role)' must be one of \(Self.roles.keys.sorted().joined(separator: ", "))")
        }
        guard Set(authority).count == authority.count else { throw ValidationError("each --authority role once") }
        guard votingPower > 0 else { throw ValidationError("--voting-power must be at least 1") }
    }

    func run() throws {
        let secret = try passphrase(file: passphraseFile)
        let publicPath = out + "/organisation.json"
        guard !FileManager.default.fileExists(atPath: publicPath) else {
            throw ValidationError("\(publicPath) exists: this folder already holds an organisation's keys; choose another --out")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        func write(_ key: PrivateKey, _ file: String, note: String) throws {
            let path = out + "/" + file
            try refusingAsUsage {
                if let secret {
                    try SealedKeyFile(key: key, passphrase: secret, note: note).write(path: path)
                } else {
                    try KeyFile(key: key, note: note).write(path: path)
                }
            }
        }
        var validators: [OrganisationKeys.ValidatorEntry] = []
        for name in validator {
            let key = PrivateKey()
            try write(key, "validator-\(name).key.json", note: "validator \(name) of \(organisation)")
            validators.append(.init(name: name, publicKey: key.publicKey.address.description, votingPower: votingPower))
            print("validator \(name)\t\(key.publicKey.address)")
        }
        var authorities: [String: String] = [:]
        for role in authority {
            let key = PrivateKey()
            try write(key, "\(role).key.json", note: "authority \(role) of \(organisation)")
            authorities[Self.roles[role]!] = key.publicKey.address.description
            print("authority \(role)\t\(key.publicKey.address)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let document = OrganisationKeys(kind: OrganisationKeys.kind, organisation: organisation, validators: validators, authorities: authorities)
        try (try encoder.encode(document) + Data("\n".utf8)).write(to: URL(fileURLWithPath: publicPath))
        print("wrote \(publicPath): send it to whoever assembles the genesis; keep the key files on this machine\(secret == nil ? " (UNENCRYPTED: consider --passphrase-file)" : "")")
    }
}
