public import KizunaCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A signer failure. Compares on the code only.
public struct SignerError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Signing would conflict with, or go back behind, what was already signed.
        case refused = "signer.refused"
        /// The record file is missing and the operator override is not set.
        case recordMissing = "signer.record_missing"
        /// The record file exists but is torn or corrupted.
        case recordCorrupt = "signer.record_corrupt"
        /// Reading, writing or syncing the record failed; nothing was signed.
        case ioFailure = "signer.io_failure"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
    public static func == (lhs: SignerError, rhs: SignerError) -> Bool { lhs.code == rhs.code }
}

/// What this validator signed last: the high-water mark that stops it from signing two
/// different things for one (height, round, step), even across a crash.
public struct SignerSafetyRecord: Sendable, Hashable, CanonicalCodable {
    public enum Decision: Sendable, Hashable {
        /// Strictly after the record: sign.
        case allow
        /// Exactly what was signed last: return the stored signature.
        case allowIdenticalResign(Signature)
        case refuse(String)
    }

    public var height: UInt64
    public var round: UInt32
    public var step: VoteStep
    /// SHA-256 of the signed bytes.
    public var signBytesHash: Hash
    public var signature: Signature?
    /// The vote signed last, when the last signature was a vote: persisted with the record, in
    /// the same synced write, so that a crash right after signing cannot lose the message
    /// (a proposal, with its block, is too large for the record and needs no such care: a lost
    /// proposal only makes the round time out).
    public var vote: Vote?

    public init(height: UInt64, round: UInt32, step: VoteStep, signBytesHash: Hash, signature: Signature?, vote: Vote? = nil) {
        self.height = height
        self.round = round
        self.step = step
        self.signBytesHash = signBytesHash
        self.signature = signature
        self.vote = vote
    }

    /// The record of a key that has signed nothing (written when the key is generated).
    public static let initial = SignerSafetyRecord(height: 0, round: 0, step: .proposal, signBytesHash: .zero, signature: nil)

    /// The round a restarted machine deciding `height` should start at (`docs/consensus.md` §7).
    ///
    /// The machine's memory of its own messages is lost in a crash; only this record survives.
    /// If the record is at `height` and round r, the node starts at r: its proposal and its votes of
    /// r are re-signable only byte for byte, but anything after the record still is. If the
    /// record is a *precommit* of r, the node has signed its last message of r and can do nothing
    /// more there (a prevote of r would be refused, and the votes it sent before the crash may be
    /// lost to peers that crashed too), so it starts at r + 1 — where it did in effect go next:
    /// after its precommit, the only ways out of r are a commit or timeoutPrecommit to r + 1.
    /// Skipping to a higher round is always safe (line 55 does it); staying in r could stall the
    /// height, because without its prevote of r no quorum of r may ever form.
    public func resumeRound(height resumeHeight: UInt64) -> UInt32 {
        guard height == resumeHeight else { return 0 }
        if step == .precommit, round < UInt32.max { return round + 1 }
        return round
    }

    /// How a restarted validator rejoins `height`: the round it starts in and the own messages
    /// it sends again, given the messages it had logged there (`docs/consensus.md` §7). One
    /// decision for the node's engine and the simulator, so the simulator runs what ships.
    public struct RestartPlan: Sendable, Hashable {
        public var round: UInt32
        /// The logged messages of the height plus, if the last signature's message was not
        /// logged (a crash between the record and the log), that message from the record.
        public var resend: [ConsensusMessage]
    }

    /// The record is synced before the message log, so a crash between the two leaves a
    /// signature whose message nobody holds; in that round the signer refuses to sign anything
    /// else, and two validators in that state (or one and a byzantine one) can never gather a
    /// quorum there. A vote is kept in the record itself, so it is sent again and the node stays
    /// in its round. A record without the vote (written by an earlier version) makes the node
    /// start in the next round instead (always safe; the lock is kept). A lost proposal needs
    /// neither: the round just times out.
    public func restartPlan(height resumeHeight: UInt64, loggedOwnMessages: [ConsensusMessage]) -> RestartPlan {
        let logged = loggedOwnMessages.filter { $0.height == resumeHeight }
        let round = resumeRound(height: resumeHeight)
        guard height == resumeHeight, self.round >= round, self.round < UInt32.max, step != .proposal else {
            return RestartPlan(round: round, resend: logged)
        }
        let isLogged = logged.contains { message in
            guard message.round == self.round, case .vote(let vote) = message else { return false }
            return vote.step == step
        }
        if isLogged { return RestartPlan(round: round, resend: logged) }
        if let vote, vote.height == height, vote.round == self.round, vote.step == step {
            return RestartPlan(round: round, resend: logged + [.vote(vote)])
        }
        return RestartPlan(round: self.round + 1, resend: logged)
    }

    /// May this validator sign `signBytes` at (height, round, step)?
    public func check(height: UInt64, round: UInt32, step: VoteStep, signBytes: [UInt8]) -> Decision {
        let new = (height, round, step.rawValue)
        let last = (self.height, self.round, self.step.rawValue)
        if new > last { return .allow }
        if new < last {
            return .refuse("height/round/step \(height)/\(round)/\(step) is before the last signed \(self.height)/\(self.round)/\(self.step)")
        }
        if Hash.sha256(signBytes) == signBytesHash, let signature {
            return .allowIdenticalResign(signature)
        }
        return .refuse("already signed different bytes at height/round/step \(height)/\(round)/\(step)")
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(height)
        encoder.encode(round)
        encoder.encode(step)
        encoder.encode(signBytesHash)
        encoder.encode(signature)
        encoder.encode(vote)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        height = try decoder.decodeUInt64()
        round = try decoder.decodeUInt32()
        step = try decoder.decode(VoteStep.self)
        signBytesHash = try decoder.decodeHash()
        signature = try decoder.decodeOptional(Signature.self)
        // A record written before the vote was kept ends here.
        vote = decoder.remaining > 0 ? try decoder.decodeOptional(Vote.self) : nil
    }
}

/// Where the signer's record lives. `persist` returns only once the record is durable.
public protocol SignerStateStore: Sendable {
    func load() throws(SignerError) -> SignerSafetyRecord
    mutating func persist(_ record: SignerSafetyRecord) throws(SignerError)
}

/// Signs consensus messages, never two different things for one (height, round, step):
/// check the record, persist the new one durably, and only then release the signature.
public struct SafeSigner<Store: SignerStateStore>: Sendable {
    public let key: any ConsensusKey
    public private(set) var store: Store
    public private(set) var record: SignerSafetyRecord

    /// Loads the record; throws if it is missing (without the override) or corrupt.
    public init(key: any ConsensusKey, store: Store) throws(SignerError) {
        self.key = key
        self.store = store
        self.record = try store.load()
    }

    /// Signs what the state machine asked for; the returned message may be broadcast.
    public mutating func sign(_ request: SigningRequest, chainId: String) throws(SignerError) -> ConsensusMessage {
        let signature = try sign(height: request.height, round: request.round, step: request.step, signBytes: request.signingBytes(chainId: chainId)) { signature in
            if case .vote(let vote) = request { return Vote(vote, signature: signature) }
            return nil
        }
        return request.signed(signature)
    }

    /// Lets the owner act on the store (a simulated fsync) without touching the record.
    mutating func modifyStore(_ body: (inout Store) -> Void) { body(&store) }

    /// - Parameter message: the vote the signature makes, if it is one, kept in the record.
    public mutating func sign(height: UInt64, round: UInt32, step: VoteStep, signBytes: [UInt8], message: (Signature) -> Vote? = { _ in nil }) throws(SignerError) -> Signature {
        switch record.check(height: height, round: round, step: step, signBytes: signBytes) {
        case .refuse(let reason):
            throw SignerError(.refused, reason)
        case .allowIdenticalResign(let signature):
            return signature
        case .allow:
            let signature = key.sign(signBytes)
            let next = SignerSafetyRecord(height: height, round: round, step: step, signBytesHash: Hash.sha256(signBytes), signature: signature, vote: message(signature))
            // Persist first: a signature that left the node must survive a crash in the record.
            try store.persist(next)
            record = next
            return signature
        }
    }
}

/// The signer record in a file beside the key (`<key file>.signer-state`), replaced
/// atomically: write a temporary file, fsync it, rename it over the record, fsync the directory.
public struct FileSignerStateStore: SignerStateStore {
    public static let fileSuffix = ".signer-state"
    public let path: String
    /// The operator override (`--allow-missing-signer-state`): start from an empty record when
    /// the file is missing. Dangerous if the key may have signed elsewhere.
    public let allowMissingRecord: Bool

    public init(keyPath: String, allowMissingRecord: Bool = false) {
        self.init(recordPath: keyPath + Self.fileSuffix, allowMissingRecord: allowMissingRecord)
    }

    public init(recordPath: String, allowMissingRecord: Bool = false) {
        self.path = recordPath
        self.allowMissingRecord = allowMissingRecord
    }

    public func load() throws(SignerError) -> SignerSafetyRecord {
        guard let bytes = try Self.readFile(path) else {
            if allowMissingRecord { return .initial }
            throw SignerError(.recordMissing, "no signer record at \(path); refusing to sign (override: --allow-missing-signer-state)")
        }
        let prefix = ConsensusDomain.signerRecord
        guard bytes.count > prefix.count + Hash.byteCount, Array(bytes.prefix(prefix.count)) == prefix else {
            throw SignerError(.recordCorrupt, "\(path) is not a signer record")
        }
        let body = Array(bytes.dropLast(Hash.byteCount))
        guard Hash.sha256(body).bytes == Array(bytes.suffix(Hash.byteCount)) else {
            throw SignerError(.recordCorrupt, "\(path) fails its checksum (torn or corrupted write)")
        }
        do {
            return try SignerSafetyRecord(canonicalBytes: Array(body.dropFirst(prefix.count)))
        } catch {
            throw SignerError(.recordCorrupt, "\(path): \(error)")
        }
    }

    /// The file's bytes: domain tag, record, SHA-256 of both.
    public static func fileBytes(_ record: SignerSafetyRecord) -> [UInt8] {
        let body = ConsensusDomain.signerRecord + record.canonicalBytes
        return body + Hash.sha256(body).bytes
    }

    public mutating func persist(_ record: SignerSafetyRecord) throws(SignerError) {
        let temporary = path + ".tmp"
        try Self.writeAndSync(temporary, Self.fileBytes(record))
        guard rename(temporary, path) == 0 else { throw Self.ioError("rename \(temporary) → \(path)") }
        try Self.syncDirectory(of: path)
    }

    /// Writes the initial record for a new key; refuses if a record already exists.
    public mutating func createInitialRecord() throws(SignerError) {
        if try Self.readFile(path) != nil {
            throw SignerError(.refused, "\(path) already exists; not overwriting a signer record")
        }
        try persist(.initial)
    }

    // MARK: - POSIX

    static func ioError(_ what: String) -> SignerError {
        SignerError(.ioFailure, "\(what): \(String(cString: strerror(errno)))")
    }

    /// nil if the file does not exist.
    static func readFile(_ path: String) throws(SignerError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw ioError("open \(path)")
        }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("read \(path)")
            }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
            guard result.count <= 4096 else { throw SignerError(.recordCorrupt, "\(path) is too large for a signer record") }
        }
        return result
    }

    static func writeAndSync(_ path: String, _ bytes: [UInt8]) throws(SignerError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw ioError("open \(path)") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("write \(path)")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else { throw ioError("fsync \(path)") }
    }

    static func syncDirectory(of path: String) throws(SignerError) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { throw ioError("open directory \(directory)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw ioError("fsync directory \(directory)") }
    }
}

/// A signer record in memory, with a simulated disk: `persist` is durable when `syncs` is
/// true; otherwise the record stays volatile until `sync()` and a crash loses it.
public struct MemorySignerStateStore: SignerStateStore {
    public private(set) var durable: SignerSafetyRecord?
    public private(set) var volatile: SignerSafetyRecord?
    public var syncs: Bool
    public var allowMissingRecord: Bool

    public init(durable: SignerSafetyRecord?, syncs: Bool = true, allowMissingRecord: Bool = false) {
        self.durable = durable
        self.syncs = syncs
        self.allowMissingRecord = allowMissingRecord
    }

    public func load() throws(SignerError) -> SignerSafetyRecord {
        if let record = volatile ?? durable { return record }
        if allowMissingRecord { return .initial }
        throw SignerError(.recordMissing, "no signer record")
    }

    public mutating func persist(_ record: SignerSafetyRecord) throws(SignerError) {
        if syncs {
            durable = record
            volatile = nil
        } else {
            volatile = record
        }
    }

    public mutating func sync() {
        if let volatile { durable = volatile }
        volatile = nil
    }
}
