public import KizunaCore
import Foundation

/// Where an audit reads a chain from. The audit trusts none of them: every block, certificate
/// and state value it reads is checked by replay.
public protocol ChainSource {
    /// A name for messages ("data folder /…", "export file …").
    var description: String { get }
    func tipHeight() throws -> UInt64
    /// The block at `height` as stored, or an error naming why it cannot be read.
    func block(at height: UInt64) throws -> Block
    /// The certificate that committed the block at `height`.
    func certificate(at height: UInt64) throws -> CommitCertificate
}

extension BlockStore: ChainSource {
    public var description: String { "data folder" }

    public func block(at height: UInt64) throws -> Block {
        guard let block: Block = try self.block(at: height) else {
            throw ChainError(.missingBlock, "block \(height) is missing")
        }
        return block
    }

    public func certificate(at height: UInt64) throws -> CommitCertificate {
        guard let certificate: CommitCertificate = try self.certificate(at: height) else {
            throw ChainError(.badCertificate, "the certificate of block \(height) is missing")
        }
        return certificate
    }
}

/// The portable export file: the whole chain in one file (format in `docs/audit.md`).
///
///     magic "KIZUNA-EXPORT-V1\0"
///     u32 length ‖ genesis JSON
///     u64 number of blocks
///     per block: u32 length ‖ block (canonical) ‖ u32 length ‖ certificate (canonical)
public struct ExportFile: ChainSource {
    public static let magic = Array("KIZUNA-EXPORT-V1".utf8) + [0]
    public let path: String
    public let genesisJSON: Data
    /// One block of the export: its encoding and its certificate's.
    private typealias Entry = (block: [UInt8], certificate: [UInt8])
    private let blocks: [Entry]

    public var description: String { "export file \(path)" }

    /// An export file whose framing is wrong; the contents are the audit's to judge.
    public typealias FormatError = CodedError<ExportFileErrorCode>

    /// Reads an export file, checking its framing (the contents are checked by the audit).
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw FormatError(.badFormat, "cannot read \(path)") }
        let bytes = [UInt8](data)
        var decoder = Decoder(bytes)
        guard (try? decoder.decodeFixed(ExportFile.magic.count)) == ExportFile.magic else {
            throw FormatError(.badFormat, "\(path) is not a Kizuna export (bad magic)")
        }
        do {
            genesisJSON = Data(try decoder.decodeBytes(maxBytes: 1 << 20))
            let count = try decoder.decodeUInt64()
            var blocks: [Entry] = []
            for _ in 0..<count {
                let block = try decoder.decodeBytes(maxBytes: BlockLimits.blockBytesMax)
                let certificate = try decoder.decodeBytes(maxBytes: 1 << 20)
                blocks.append((block, certificate))
            }
            try decoder.finish()
            self.blocks = blocks
        } catch {
            throw FormatError(.badFormat, "\(path): \(error)", cause: error)
        }
        self.path = path
    }

    public func tipHeight() throws -> UInt64 { UInt64(blocks.count) }

    public func block(at height: UInt64) throws -> Block {
        try decode(at: height, { $0.block }, what: "block \(height)")
    }

    public func certificate(at height: UInt64) throws -> CommitCertificate {
        try decode(at: height, { $0.certificate }, what: "the certificate of block \(height)")
    }

    /// Decodes one part of the entry at `height`; `what` names it in the error.
    private func decode<Value: CanonicalDecodable>(
        at height: UInt64, _ part: (Entry) -> [UInt8], what: String
    ) throws -> Value {
        guard height >= 1, height <= UInt64(blocks.count) else { throw ChainError(.missingBlock, "the export has no block \(height)") }
        do {
            return try Value(canonicalBytes: part(blocks[Int(height - 1)]))
        } catch {
            throw ChainError(.corruptBlock, "\(what) does not decode: \(error)")
        }
    }

    /// Writes the chain of `blocks` (with its genesis JSON) to `path`, with progress.
    public static func write(from blocks: BlockStore, genesisJSON: Data, to path: String, progress: (UInt64, UInt64) -> Void = { _, _ in }) throws {
        let tip = try blocks.tipHeight()
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw FormatError(.badFormat, "cannot create \(path)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var header = Encoder()
        header.encodeFixed(magic)
        header.encodeBytes([UInt8](genesisJSON))
        header.encode(tip)
        try handle.write(contentsOf: header.bytes)
        var height: UInt64 = 1
        while height <= tip {
            var encoder = Encoder()
            let block: Block = try blocks.block(at: height)
            let certificate: CommitCertificate = try blocks.certificate(at: height)
            encoder.encodeBytes(block.canonicalBytes)
            encoder.encodeBytes(certificate.canonicalBytes)
            try handle.write(contentsOf: encoder.bytes)
            if height % 1000 == 0 || height == tip { progress(height, tip) }
            height += 1
        }
        try handle.synchronize()
    }
}

/// The codes of `ExportFile.FormatError`.
public enum ExportFileErrorCode: String, ErrorCode {
    case badFormat = "export.bad_format"
}
