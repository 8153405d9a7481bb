import ArgumentParser

/// Runs `body`; an error it throws becomes a `ValidationError` with the error's text (one that
/// already is passes unchanged), so that ArgumentParser prints "Error: <text>" and the usage
/// and exits 64, as for a wrong option. For a refusal the user fixes by changing the input
/// (a file, a key, an address), not for a failure of the machine or the node.
func refusingAsUsage<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError("\(error)")
    }
}
