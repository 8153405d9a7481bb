public import Logging
import KizunaCore
import Foundation
import Synchronization

/// A swift-log handler that writes one JSON object per line to standard error, for log
/// collectors (journald's JSON export, Loki, Elasticsearch) that would otherwise have to parse
/// swift-log's text lines. `kizuna node --log-format json`, `kizuna index --log-format json`.
///
/// A line: `{"label":…,"level":…,"message":…,"metadata":{…},"source":…,"time":…}` with keys
/// sorted, metadata as nested JSON (strings, arrays, objects), the time in UTC with
/// milliseconds. No package in the project's list provides a JSON handler for swift-log
/// (docs/operations.md, "Logs"); this one is small and uses only Foundation's encoder.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    /// Writes to standard error, one `write(2)` per line so lines of concurrent tasks never
    /// interleave.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in
            let bytes = Array(line.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }

    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Line(
            time: Self.timestamp(Date()), level: event.level.rawValue, label: label, message: event.message.description,
            metadata: merged.isEmpty ? nil : merged.mapValues(JSONValue.init), source: event.source
        )
        guard let data = try? Self.encoder.encode(line) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    struct Line: Encodable {
        var time: String
        var level: String
        var label: String
        var message: String
        var metadata: [String: JSONValue]?
        var source: String
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `2026-12-05T08:01:02.123Z`.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let inDay = milliseconds - days * 86_400_000
        let (year, month, day) = CivilTime.civilFromDays(days)
        return String(format: "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", year, month, day,
                      inDay / 3_600_000, inDay / 60_000 % 60, inDay / 1000 % 60, inDay % 1000)
    }
}

extension JSONValue {
    /// A log's metadata value: strings (a `stringConvertible` as its description), arrays and
    /// objects.
    init(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let text): self = .string(text)
        case .stringConvertible(let convertible): self = .string(convertible.description)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .dictionary(let values): self = .object(values.mapValues(JSONValue.init))
        }
    }
}

/// How a process logs: swift-log's text lines or `JSONLogHandler`'s JSON lines.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json

    /// Bootstraps swift-log for the process (once, at start).
    public func bootstrap(level: Logger.Level) {
        switch self {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
