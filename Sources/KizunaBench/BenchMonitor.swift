import Synchronization

/// Samples of the node processes taken while a phase runs: the largest resident set of each
/// process per open window, and the pending-transaction count of one node.
final class BenchMonitor: Sendable {
    struct Window: Sendable {
        var peakRSS: [String: UInt64] = [:]
        var pending: [Int] = []
    }

    struct State: Sendable {
        var open: [String: Window] = [:]
        /// The phase the progress lines describe: its id, name and start.
        var current: (phase: Int, name: String, start: UInt64)?
    }

    let state = Mutex(State())

    func open(_ window: String) { state.withLock { $0.open[window] = Window() } }

    func close(_ window: String) -> Window {
        state.withLock { $0.open.removeValue(forKey: window) ?? Window() }
    }

    func sample(_ name: String, rss: UInt64) {
        state.withLock { state in
            for key in state.open.keys { state.open[key]!.peakRSS[name] = max(state.open[key]!.peakRSS[name] ?? 0, rss) }
        }
    }

    func sample(pending: Int) {
        state.withLock { state in
            for key in state.open.keys { state.open[key]!.pending.append(pending) }
        }
    }

    func setCurrent(phase: Int, name: String) { state.withLock { $0.current = (phase, name, benchNow()) } }
    func clearCurrent() { state.withLock { $0.current = nil } }
    var current: (phase: Int, name: String, start: UInt64)? { state.withLock { $0.current } }
}

/// A flag one task sets and others read.
final class BenchFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
