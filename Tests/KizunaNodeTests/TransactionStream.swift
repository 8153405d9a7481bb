import Foundation
import KizunaCore
import KizunaWallet
import NIOConcurrencyHelpers

/// What one node answered about a transaction, as a sender reads it.
enum StreamAnswer: Sendable, Equatable {
    case committed(height: UInt64, blockHash: String)
    /// Pending on this node — also when the last proposal this node built left it out (status
    /// "pending" with a code): that is not final, another validator may still commit it.
    case pending
    /// Refused or rejected here, with the code.
    case refused(String)
    /// No usable answer: the node is down, timed out, or does not know the transaction.
    case none

    init(_ json: [String: any Sendable]?) {
        guard let json else {
            self = .none
            return
        }
        let status = json["status"] as? String
        if status == "committed", let height = json["height"] as? Int, let hash = json["blockHash"] as? String {
            self = .committed(height: UInt64(height), blockHash: hash)
        } else if status == "pending" {
            self = .pending
        } else if let code = json["code"] as? String {
            self = .refused(code)
        } else {
            self = .none
        }
    }

    /// A short label for the stream's counts.
    var label: String {
        switch self {
        case .committed: return "committed"
        case .pending: return "pending"
        case .refused(let code): return code
        case .none: return "no answer"
        }
    }
}

/// One node as a sender sees it.
protocol StreamNode: Sendable {
    var name: String { get }
    func isUp() async -> Bool
    /// Submits and waits (the node's bounded wait) for the outcome.
    func submit(_ transaction: SignedTransaction) async -> StreamAnswer
    func status(of id: Hash) async -> StreamAnswer
    /// The account's next nonce after what this node holds pending, read with the account's
    /// signature (an account's nonce is not public); nil if the node did not answer.
    func pendingNonce(of key: PrivateKey) async -> UInt64?
}

/// How the network's senders fared: answers by label, and the stream's own events.
final class StreamCounts: Sendable {
    private let box = NIOLockedValueBox<[String: Int]>([:])
    func add(_ label: String) { box.withLockedValue { $0[label, default: 0] += 1 } }
    var counts: [String: Int] { box.withLockedValue { $0 } }
    var summary: String { counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
}

/// A resident sending to another over whichever node is up, one transaction at a time: each
/// signed transaction is retried on the nodes in turn until one reports it committed (the same
/// id commits at most once).
///
/// A node's refusal is that node's view: a node syncing blocks it misses answers
/// `node.catching_up` (retryable), and one just a block behind the network answers
/// `tx.nonce_gap` for the nonce after the account's last committed one until it has that
/// block, so a gap keeps the transaction for the other nodes. Only when
/// every node has refused it that way twice in a row, or a node gave a final code, or the
/// attempts ran out, does the sender give it up and read the account's next nonce again — from
/// every node that is up, with the account's signature, taking the highest (a transaction
/// pending on any node is a prefix the next one may follow). Without an answer it signs the
/// given-up nonce again: a nonce is never skipped, since a skipped nonce is a gap on every node
/// for ever (this stream did exactly that when its unsigned nonce read was refused with 401).
struct TransactionStream: Sendable {
    let nodes: [any StreamNode]
    let chainId: String
    let log: AcknowledgementLog
    let counts: StreamCounts
    var attemptsPerTransaction = 200
    var pauseNanoseconds: UInt64 = 100_000_000

    func run(from resident: PrivateKey, to recipient: PublicKey, stop: StopFlag) async {
        var builder = TransactionBuilder(chainId: chainId, key: resident, nextNonce: 0)
        var turn = Int.random(in: 0..<nodes.count)
        var step = 0
        while !(await stop.isSet) {
            // A turn for the other tasks even when every answer comes at once (a fake network).
            await Task.yield()
            step += 1
            let transaction = builder.sign(.send(Send(to: recipient, amount: UInt64(1 + step % 20))))
            var attempts = 0
            var gapsInARow = 0
            var settled = false
            attempts: while attempts < attemptsPerTransaction {
                if await stop.isSet { return }
                turn += 1
                let node = nodes[turn % nodes.count]
                guard await node.isUp() else {
                    try? await Task.sleep(nanoseconds: pauseNanoseconds / 5)
                    continue
                }
                attempts += 1
                let answer = await node.submit(transaction)
                counts.add(answer.label)
                switch answer {
                case .committed(let height, let hash):
                    await log.add(Acknowledgement(transactionId: transaction.id.hex, height: height, blockHash: hash))
                    settled = true
                    break attempts
                case .refused("tx.nonce_gap"):
                    // On a first attempt no node holds the transaction yet: giving it up here
                    // would skip its nonce (what stalled this stream before).
                    if attempts == 1 { counts.add("tx.nonce_gap at a first attempt") }
                    gapsInARow += 1
                    if gapsInARow >= 2 * nodes.count { break attempts }
                case .refused(let code) where code == "tx.duplicate" || code.hasPrefix("mempool.") || code == "node.catching_up":
                    gapsInARow = 0
                case .refused:
                    break attempts   // final for this transaction (its nonce was used, it was replaced...)
                case .pending:
                    gapsInARow = 0
                case .none:
                    break
                }
                // Unknown outcome (down, still pending, refused here only): ask, then go on.
                if case .committed(let height, let hash) = await node.status(of: transaction.id) {
                    await log.add(Acknowledgement(transactionId: transaction.id.hex, height: height, blockHash: hash))
                    settled = true
                    break attempts
                }
                try? await Task.sleep(nanoseconds: pauseNanoseconds)
            }
            if !settled {
                counts.add("given up")
                try? await Task.sleep(nanoseconds: pauseNanoseconds)
                var highest: UInt64?
                for node in nodes where await node.isUp() {
                    if let nonce = await node.pendingNonce(of: resident) { highest = max(highest ?? 0, nonce) }
                }
                if highest == nil { counts.add("nonce unread") }
                builder.nextNonce = highest ?? transaction.transaction.nonce
            }
        }
    }
}

/// A validator process of a `LocalNetworkProcesses` as a stream's node.
struct ProcessStreamNode: StreamNode {
    let network: LocalNetworkProcesses
    let name: String

    func isUp() async -> Bool { network.isRunning(name) }

    func submit(_ transaction: SignedTransaction) async -> StreamAnswer {
        StreamAnswer((try? await network.client(name).submit(transaction, waitForCommit: true))?.json)
    }

    func status(of id: Hash) async -> StreamAnswer {
        StreamAnswer((try? await network.client(name).transaction(id))?.json)
    }

    func pendingNonce(of key: PrivateKey) async -> UInt64? {
        let signed = network.client(name).authenticated(.signed(RequestSigner(chainId: network.genesis.chainId, key: key)))
        return try? await signed.nextNonce(of: key.publicKey)
    }
}
