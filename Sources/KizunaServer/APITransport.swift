import KizunaCore
import KizunaNode
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// How the API's port speaks: plain HTTP/1.1, or HTTPS when the configuration names a
/// certificate and its key (`api.tlsCertificateFile`, `api.tlsKeyFile`; docs/operations.md).
///
/// Everything is loaded and checked here, before the node opens its port, so a wrong path,
/// a file that is not PEM, or a key that is not the certificate's stops the start with
/// `node.api_tls` instead of failing each client's handshake later.
enum APITransport {
    /// The oldest protocol offered. TLS 1.2 stays allowed for merchants' terminals and older
    /// phones; BoringSSL's defaults keep only AEAD cipher suites with forward secrecy.
    static let minimumTLSVersion: TLSVersion = .tlsv12

    static func serverBuilder(for api: NodeConfiguration.API) throws(Node.StartError) -> HTTPServerBuilder {
        guard let certificateFile = api.tlsCertificateFile, let keyFile = api.tlsKeyFile else { return .http1() }
        let configuration = try tlsConfiguration(certificateFile: certificateFile, keyFile: keyFile)
        do {
            return try .tls(.http1(), tlsConfiguration: configuration)
        } catch {
            throw Node.StartError(.apiTLS, "the API's TLS configuration was refused: \(error)", cause: error)
        }
    }

    /// The server's TLS configuration, with the certificate chain and key checked to belong
    /// together (an `NIOSSLContext` is built once here for that).
    static func tlsConfiguration(certificateFile: String, keyFile: String) throws(Node.StartError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw Node.StartError(.apiTLS, "api.tlsCertificateFile \(certificateFile) is not a readable PEM certificate chain: \(error)", cause: error)
        }
        guard !chain.isEmpty else {
            throw Node.StartError(.apiTLS, "api.tlsCertificateFile \(certificateFile) holds no certificate (expected PEM blocks 'BEGIN CERTIFICATE', the server's first)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw Node.StartError(.apiTLS, "api.tlsKeyFile \(keyFile) is not a readable, unencrypted PEM private key: \(error)", cause: error)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = minimumTLSVersion
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw Node.StartError(.apiTLS, "api.tlsKeyFile \(keyFile) is not the private key of the first certificate in \(certificateFile): \(error)", cause: error)
        }
        return configuration
    }
}
