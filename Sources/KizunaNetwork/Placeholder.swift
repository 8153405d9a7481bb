// Peer transport (issue 6).
