public import KizunaCore

/// Why a peer connection was refused or closed. Compares on the code only; the message names
/// what was wrong (which key, which kind, which length) for the log.
public typealias PeerError = CodedError<PeerErrorCode>

/// The codes of `PeerError`.
public enum PeerErrorCode: String, ErrorCode, CaseIterable {
    /// A frame's length field exceeds the configured maximum (raised as soon as the
    /// length is read, before any of the frame's body is buffered).
    case frameTooLarge = "peer.frame_too_large"
    /// A frame's length field is zero: there is no room for the kind byte.
    case frameEmpty = "peer.frame_empty"
    /// A handshake message that does not decode strictly (bad tag, bad key, trailing bytes…).
    case malformedMessage = "peer.malformed_message"
    /// The peer's key is not in the allowed set, or is not the key the dialer expected.
    case unknownKey = "peer.unknown_key"
    /// The peer's proof does not verify for its key, this chain and this session's challenge.
    case badProof = "peer.bad_proof"
    /// The peer is on another chain.
    case wrongChain = "peer.wrong_chain"
    /// A message that is not allowed in the connection's current state.
    case unexpectedMessage = "peer.unexpected_message"
    /// The peer's key is already connected (or is this node's own key).
    case duplicateConnection = "peer.duplicate_connection"
    /// The handshake did not finish in time.
    case handshakeTimeout = "peer.handshake_timeout"
    /// Too many frames were written before the handshake finished.
    case pendingFramesFull = "peer.pending_frames_full"
    /// The encrypted link's opening or a record length is not what the link allows (a peer
    /// that does not speak the encrypted link, or garbage on the port).
    case linkMalformed = "peer.link_malformed"
    /// A record of the encrypted link does not authenticate: its bytes were altered on the
    /// way, or the sender does not hold this link's key.
    case linkTampered = "peer.link_tampered"
}
