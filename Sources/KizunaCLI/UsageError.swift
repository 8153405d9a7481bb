import ArgumentParser
import Foundation
import Logging

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

/// Runs `body`; an error it throws is printed on standard output after `prefix` and the
/// command exits 1. For the checks whose verdict is what they print (`kizuna verify`,
/// `genesis inspect | validate`, `snapshot verify`, `restore`).
func failingWithVerdict<T>(_ prefix: String = "", _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        print("\(prefix)\(error)")
        throw ExitCode(1)
    }
}

/// Runs `body`; an error it throws is printed on standard error (and logged to `logger`, once
/// there is one) and the command exits 1. For a service's start and run (`kizuna index`,
/// `kizuna card-service`), whose failures are coded errors, not wrong options.
func exitingOnError<T>(logger: Logger? = nil, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        logger?.error("\(error)")
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(1)
    }
}
