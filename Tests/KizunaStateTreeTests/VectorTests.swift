import KizunaCore
import KizunaStorage
import KizunaStateTree
import Testing

/// Fixed vectors, also listed in `docs/state-commitment.md` so another implementation can
/// check itself. Changing any of them changes the state root: a consensus change.
@Suite struct VectorTests {
    static func key(_ name: String) -> Hash { Hash.tagged(.stateKey, Array(name.utf8)) }
    static func value(_ byte: UInt8) -> Hash { Hash.tagged(.stateValue, [byte]) }

    @Test func vectors() throws {
        #expect(Self.key("alice").hex == "fd54ffd0b97c859da2d40bd8d89f29cd892f271582fe79cc66fd349d989bc0b6")
        #expect(Self.key("bob").hex == "01c34bb36158369cc1de275ccdfc27aa420e28b827812bd43823acc37e478d98")
        #expect(Self.key("carol").hex == "6f168c644f7d850f1cad780b043ba6815e3c467c9e80a0aed9b3c3bf1f144004")
        #expect(Self.key("dave").hex == "498657617ec298fd5d4f92d85daa84fa14ee519220c1729b047d72c0d7025011")

        let tree = StateTree(store: MemoryStore())
        let single = try apply(tree, [(Self.key("alice"), Self.value(1))])
        #expect(single.hex == "681604942c15bd866b7d7d75b6536feaaa2dfa706d397cb0fb679f2f02636fdf")

        let root = try apply(tree, [(Self.key("bob"), Self.value(2)), (Self.key("carol"), Self.value(3))])
        #expect(root.hex == "fe9d0ba4252efb04eaae6d6d075f0fd139f9e3a327ea209d60da84627ff3199e")
        #expect(root == StateTree.computeRoot(of: [
            Self.key("alice"): Self.value(1), Self.key("bob"): Self.value(2), Self.key("carol"): Self.value(3),
        ]))

        let presence = try tree.proof(for: Self.key("bob"))
        #expect(presence.hex == "010101c34bb36158369cc1de275ccdfc27aa420e28b827812bd43823acc37e478d98"
            + "7a2b79f82f85fafd5677b648bf6127f27496d91bc399d2b699b5062a1758d66f0002c0"
            + "681604942c15bd866b7d7d75b6536feaaa2dfa706d397cb0fb679f2f02636fdf"
            + "5adf6577b4e3dfb105e2f101b3cdf1c0004f4dffdbeda2810330558bb9480ac8")
        #expect(presence.verify(root: root, key: Self.key("bob"), valueHash: Self.value(2)))

        let absence = try tree.proof(for: Self.key("dave"))
        #expect(absence.hex == "01016f168c644f7d850f1cad780b043ba6815e3c467c9e80a0aed9b3c3bf1f144004"
            + "b3d63178f6ebd0ecdf102eda2a87e3dbc488e8486602475bb496312a85c60f0f0002c0"
            + "681604942c15bd866b7d7d75b6536feaaa2dfa706d397cb0fb679f2f02636fdf"
            + "b9effe5be8eca0e80b4b5d8ba3d4ddcbd0038f5e0b41471d7177331bc89eb67b")
        #expect(absence.verify(root: root, key: Self.key("dave"), valueHash: nil))
    }
}
