import Dispatch

/// `transform` of every element of `range`, in order, computed in `parts` contiguous slices
/// at once (one thread each). For CPU-bound work on independent elements: signing, verifying
/// signatures, deriving keys; `transform` must not depend on the order the slices run in.
public func parallelMap<T: Sendable>(_ range: Range<Int>, parts: Int, _ transform: @Sendable (Int) -> T) -> [T] {
    let count = range.count
    guard count > 0 else { return [] }
    let output = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    defer { output.deallocate() }
    output.initialize(repeating: nil)
    let slots = Slots(buffer: output)
    let parts = max(1, parts)
    let chunk = (count + parts - 1) / parts
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        for offset in min(count, part * chunk)..<min(count, (part + 1) * chunk) {
            slots.buffer[offset] = transform(range.lowerBound + offset)
        }
    }
    let result = output.map { $0! }
    _ = output.deinitialize()
    return result
}

/// Lets the slices write disjoint slots of one buffer.
private struct Slots<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T?>
}
