public import KizunaCore
import Foundation

extension Genesis {
    /// Loads the genesis document at `path` (the core types do no I/O; the node reads files).
    public static func load(path: String) throws -> Genesis {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GenesisError(.unreadable, "cannot read the genesis file \(path)")
        }
        return try Genesis(json: data)
    }
}
