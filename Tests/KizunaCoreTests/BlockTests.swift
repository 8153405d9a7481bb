import Foundation
import KizunaCore
import Testing

@Suite("Blocks and the transactions root")
struct BlockTests {
    let ids = (0..<4).map { Fixtures.hash("id \($0)") }

    func leaf(_ id: Hash) -> Hash { Fixtures.handTagged("KIZUNA/TXLEAF/V1", id.bytes) }
    func node(_ left: Hash, _ right: Hash) -> Hash { Fixtures.handTagged("KIZUNA/TXNODE/V1", left.bytes, right.bytes) }

    @Test func transactionsRootByHand() {
        #expect(Block.transactionsRoot([]) == .zero)
        #expect(Block.transactionsRoot([ids[0]]) == leaf(ids[0]))
        #expect(Block.transactionsRoot([ids[0]]) != ids[0], "a leaf is hashed even when alone")
        #expect(Block.transactionsRoot(Array(ids.prefix(2))) == node(leaf(ids[0]), leaf(ids[1])))
        // Three leaves: the odd third leaf is promoted unchanged to the next level.
        #expect(Block.transactionsRoot(Array(ids.prefix(3))) == node(node(leaf(ids[0]), leaf(ids[1])), leaf(ids[2])))
        #expect(Block.transactionsRoot(ids) == node(node(leaf(ids[0]), leaf(ids[1])), node(leaf(ids[2]), leaf(ids[3]))))
        // Five: ((01)(23))(4).
        let five = ids + [Fixtures.hash("id 4")]
        #expect(Block.transactionsRoot(five) == node(node(node(leaf(five[0]), leaf(five[1])), node(leaf(five[2]), leaf(five[3]))), leaf(five[4])))
        // Order matters.
        #expect(Block.transactionsRoot([ids[1], ids[0]]) != Block.transactionsRoot([ids[0], ids[1]]))
        // A leaf can never pass for a node: the root of [a, b] is not the root of [node(a, b)].
        #expect(Block.transactionsRoot([node(leaf(ids[0]), leaf(ids[1]))]) != Block.transactionsRoot(Array(ids.prefix(2))))
    }

    @Test func headerLayoutAndHash() throws {
        let header = VectorGenerator.header2
        let bytes = header.canonicalBytes
        #expect(bytes.count == 4 + header.chainId.utf8.count + 8 + 32 + 8 + 32 + 32 + 32 + 32 + 32)
        #expect(header.hash == Fixtures.handTagged("KIZUNA/BLOCK/V1", bytes))
        #expect(try BlockHeader(canonicalBytes: bytes) == header)
        var changed = header
        changed.timestamp += 1
        #expect(changed.hash != header.hash)
    }

    @Test func blockRoundTripAndHashIsTheHeaderHash() throws {
        for block in [VectorGenerator.block1, VectorGenerator.block2] {
            let bytes = block.canonicalBytes
            let decoded = try Block(canonicalBytes: bytes)
            #expect(decoded == block)
            #expect(decoded.hash == block.header.hash)
            #expect(decoded.height == block.header.height)
            #expect(bytes.count <= BlockLimits.blockBytesMax)
        }
        let block1 = VectorGenerator.block1
        #expect(block1.lastCommit == nil)
        #expect(block1.canonicalBytes.last == 0, "no last commit: option byte 0 at the end")
        let block2 = VectorGenerator.block2
        #expect(block2.header.previousBlockHash == block1.hash)
        #expect(block2.header.lastCommitHash == block2.lastCommit?.hash)
        try block2.lastCommit?.verify(chainId: Fixtures.chainId, height: 1, blockHash: block1.hash, validators: Fixtures.validatorSet)
    }

    @Test func emptyBlock() throws {
        var header = VectorGenerator.header1
        header.transactionsRoot = Block.transactionsRoot([])
        let block = Block(header: header, transactions: [], lastCommit: nil)
        #expect(block.canonicalBytes == header.canonicalBytes + [0, 0, 0, 0] + [0])
        #expect(try Block(canonicalBytes: block.canonicalBytes) == block)
    }
}
