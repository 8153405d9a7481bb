import KizunaCore
import KizunaStorage
import KizunaStateTree
import Testing

/// Fixed vectors, also listed in `docs/state-commitment.md` so another implementation can
/// check itself. Changing any of them is a consensus change.
@Suite struct VectorTests {
    static func key(_ name: String) -> Hash { Hash.tagged(.stateKey, Array(name.utf8)) }
    static func value(_ byte: UInt8) -> Hash { Hash.tagged(.stateValue, [byte]) }

    @Test func vectors() throws {
        let tree = StateTree(store: MemoryStore())
        let alice = Self.key("alice")
        let single = try apply(tree, [(alice, Self.value(1))])
        let root = try apply(tree, [(Self.key("bob"), Self.value(2)), (Self.key("carol"), Self.value(3))])
        let presence = try tree.proof(for: Self.key("bob"))
        let absence = try tree.proof(for: Self.key("dave"))
        print("VECTOR alice", alice.hex)
        print("VECTOR single", single.hex)
        print("VECTOR root", root.hex)
        print("VECTOR bob", presence.hex)
        print("VECTOR dave", absence.hex)
    }
}
