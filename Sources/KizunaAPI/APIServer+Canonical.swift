import Hummingbird
import KizunaCore
import KizunaNode
import NIOCore
import HTTPTypes

/// The canonical bytes of a block and the certificate that committed it, for an auditor
/// reading the chain over the API (`kizuna audit --remote`, `docs/audit.md`).
extension APIServer {
    /// `GET /v1/blocks/{height}/canonical` (members and auditors): `application/octet-stream`,
    /// the per-block record of the export file (`docs/audit.md`):
    ///
    ///     u32 length ‖ block (canonical) ‖ u32 length ‖ commit certificate (canonical)
    ///
    /// The bytes are the ones the chain hashes; the auditor decodes them strictly and trusts
    /// none of them.
    static func addCanonicalRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        router.get("/v1/blocks/:height/canonical") { request, context in
            // Access before existence, as for the JSON block.
            try requirePrivileged(request, shared)
            let height = try heightParameter(context)
            guard height > 0, let block = try node.block(at: height) else {
                throw APIProblem(404, "api.no_such_block", "there is no block at height \(height) yet")
            }
            guard let certificate = try node.certificate(at: height) else {
                throw APIProblem(404, "api.no_such_block", "block \(height) has no commit certificate in this node's store")
            }
            let record = canonicalRecord(block: block, certificate: certificate)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: record)))
        }
    }

    /// One block's record, exactly as `ExportFile` writes it per block.
    static func canonicalRecord(block: Block, certificate: CommitCertificate) -> [UInt8] {
        let blockBytes = block.canonicalBytes
        let certificateBytes = certificate.canonicalBytes
        var encoder = Encoder(reservingCapacity: blockBytes.count + certificateBytes.count + 8)
        encoder.encodeBytes(blockBytes)
        encoder.encodeBytes(certificateBytes)
        return encoder.bytes
    }
}
