import Logging

/// The long-running commands (`node`, `index`, `card-service`) log to standard error at the
/// configured level.
enum ProcessLogging {
    /// Bootstraps swift-log once for the process and returns the command's logger.
    static func start(level text: String, label: String) -> Logger {
        let level = Logger.Level(rawValue: text) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
