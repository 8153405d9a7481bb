import ArgumentParser
import Foundation

/// `--json FILE` of the `kizuna bench` commands: where to write the result, and the one way
/// it is written (pretty-printed, keys sorted, so that two runs diff line by line).
struct BenchResultFile: ParsableArguments {
    @Option(help: "Also write the result as JSON to this file.") var json: String?

    /// Writes `result` to the `--json` file; nothing without `--json`.
    func write(_ result: some Encodable) throws {
        guard let json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: URL(fileURLWithPath: json))
    }
}
