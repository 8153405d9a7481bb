public import Foundation
public import KizunaCore

/// Reads a tool's own TOML configuration file (the indexer's, the card custodian's) with the
/// checks they share: the text parses, no field is unknown, a table is a table, a string is not
/// empty, a whole number is in its range, a required field is there, a path is resolved against
/// the file's folder, `node.url` is an http(s) URL, `logLevel` is a swift-log level. Every
/// refusal is the tool's `code` (its `bad_config`) with a message naming the file and the field.
public struct TOMLConfigurationReader<Code: ErrorCode> {
    public typealias Failure = CodedError<Code>

    public static var logLevels: [String] { ["trace", "debug", "info", "notice", "warning", "error", "critical"] }

    /// Labels messages (the file's path).
    public let name: String
    let folder: URL
    let code: Code
    let document: [String: Any]
    let tables: [String: [String: Any]]

    /// Parses `text`. `fields` are the top level's known fields (tables included, in the order
    /// the refusal lists them); `tables` the known fields of each table. A table left out reads
    /// as empty.
    public init(_ text: String, name: String, folder: URL, code: Code, fields: [String], tables known: [String: [String]]) throws(Failure) {
        (self.name, self.folder, self.code) = (name, folder, code)
        do {
            document = try TOMLDocument.parse(text)
        } catch {
            throw Failure(code, "\(name): \(error)", cause: error)
        }
        var tables: [String: [String: Any]] = [:]
        try Self.refuseUnknown(document, fields, "", name: name, code: code)
        for (table, fields) in known.sorted(by: { $0.key < $1.key }) {
            guard let value = document[table] else { tables[table] = [:]; continue }
            guard let entries = value as? [String: Any] else { throw Failure(code, "\(name): '\(table)' must be a table ([\(table)])") }
            try Self.refuseUnknown(entries, fields, table + ".", name: name, code: code)
            tables[table] = entries
        }
        self.tables = tables
    }

    static func refuseUnknown(_ table: [String: Any], _ known: [String], _ prefix: String, name: String, code: Code) throws(Failure) {
        if let field = table.keys.sorted().first(where: { !known.contains($0) }) {
            throw Failure(code, "\(name): unknown field '\(prefix)\(field)' (known: \(known.map { prefix + $0 }.joined(separator: ", ")))")
        }
    }

    /// A refusal of this file: "<file>: <message>".
    public func failure(_ message: String) -> Failure { Failure(code, "\(name): \(message)") }

    /// `key` of `table` (the top level when nil), a non-empty string; nil when left out.
    public func string(_ table: String?, _ key: String) throws(Failure) -> String? {
        guard let value = table.map({ tables[$0]?[key] }) ?? document[key] else { return nil }
        guard let text = value as? String, !text.isEmpty else { throw failure("'\(Self.label(table, key))' must be a non-empty string") }
        return text
    }

    /// `key` of `table`, a string that must be there; `meaning` says what it is for.
    public func required(_ table: String?, _ key: String, _ meaning: String? = nil) throws(Failure) -> String {
        guard let value = try string(table, key) else {
            throw failure("the field '\(Self.label(table, key))' is required\(meaning.map { " (\($0))" } ?? "")")
        }
        return value
    }

    /// `key` of `table`, a whole number in `range`; nil when left out.
    public func integer(_ table: String, _ key: String, _ range: ClosedRange<Int>) throws(Failure) -> Int? {
        guard let value = tables[table]?[key] else { return nil }
        guard let number = (value as? Int64).map(Int.init) ?? (value as? Int), range.contains(number) else {
            throw failure("'\(table).\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// `value` resolved against the configuration file's folder unless absolute.
    public func path(_ value: String) -> String {
        value.hasPrefix("/") ? value : folder.appendingPathComponent(value).standardizedFileURL.path
    }

    /// `node.url`: the node's API, an http:// or https:// URL (required).
    public func nodeURL() throws(Failure) -> String {
        let url = try required("node", "url", "the node's API, e.g. http://127.0.0.1:8081")
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https", parsed.host?.isEmpty == false else {
            throw failure("'node.url' must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")
        }
        return url
    }

    /// `logLevel`: one of `logLevels`; `info` when left out.
    public func logLevel() throws(Failure) -> String {
        let level = try string(nil, "logLevel") ?? "info"
        guard Self.logLevels.contains(level) else { throw failure("'logLevel' must be one of \(Self.logLevels.joined(separator: ", "))") }
        return level
    }

    /// Reads the configuration file at `path` and hands its text, its path (to label messages)
    /// and its folder (to resolve relative paths) to `parse`; an unreadable file is `code`.
    public static func load<Configuration>(
        path: String, code: Code, _ parse: (String, String, URL) throws(Failure) -> Configuration
    ) throws(Failure) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Failure(code, "cannot read the configuration file \(path)")
        }
        return try parse(text, path, URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    /// A bearer token for the node's API: the text of `file` (`node.tokenFile`), else the
    /// environment variable `KIZUNA_TOKEN`, trimmed; nil when neither holds one. An unreadable
    /// file is `code`.
    public static func bearerToken(file: String?, environment: [String: String], code: Code) throws(Failure) -> String? {
        let token: String?
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw Failure(code, "cannot read the token file \(file) (node.tokenFile)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            token = environment["KIZUNA_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return (token?.isEmpty ?? true) ? nil : token
    }

    static func label(_ table: String?, _ key: String) -> String { table.map { "\($0).\(key)" } ?? key }
}
