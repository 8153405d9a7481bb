#!/usr/bin/env python3
"""Writes the seed corpora of the Kizuna fuzz targets into Fuzz/corpus/<target>/.

Seeds are small valid (and a few nearly valid) inputs, built from the test vectors
(Tests/KizunaCoreTests/Vectors/vectors.json), the local genesis (Genesis/local.json) and the
local node configuration (Network/local/single.json). The handshake and proposal seeds are
signed with the published development keys, which needs the `cryptography` package.
Run from anywhere: python3 Fuzz/make-seeds.py. Existing seed files of the same name are replaced;
files that libFuzzer added to a corpus (named by their SHA-1) are left alone.
"""
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = json.load(open(os.path.join(ROOT, "Tests/KizunaCoreTests/Vectors/vectors.json")))
CHAIN_ID = VECTORS["chainId"]


def write(target, name, data):
    folder = os.path.join(ROOT, "Fuzz/corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as file:
        file.write(data if isinstance(data, bytes) else data.encode())


def u32(value): return struct.pack(">I", value)
def u64(value): return struct.pack(">Q", value)
def string(text): return u32(len(text.encode())) + text.encode()


def development_key(name):
    seed = hashlib.sha256(("KIZUNA DEVELOPMENT KEY - NEVER USE IN PRODUCTION - " + name).encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_bytes(key):
    from cryptography.hazmat.primitives import serialization
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def frame(kind, payload): return u32(1 + len(payload)) + bytes([kind]) + payload


key_hex = {entry["name"]: entry["publicKey"]["hex"] for entry in VECTORS["keys"]}
assert public_bytes(development_key("validator-city")).hex() == key_hex["validator-city"]

# FuzzTransaction: the signed transactions of the vectors, one in the API's JSON form, and
# the nearly valid ones the vectors list as invalid (except the 4097-byte one).
for vector in VECTORS["transactions"]:
    write("FuzzTransaction", vector["name"], bytes.fromhex(vector["encoding"]))
write("FuzzTransaction", "json-send", json.dumps({"transaction": VECTORS["transactions"][5]["encoding"]}))
for vector in VECTORS["invalid"]:
    if vector["type"] == "SignedTransaction" and len(vector["encoding"]) <= 2 * 4096:
        write("FuzzTransaction", "invalid-" + vector["name"], bytes.fromhex(vector["encoding"]))

# FuzzBlock: blocks and headers; FuzzCommitCertificate: certificates.
for vector in VECTORS["blocks"] + VECTORS["blockHeaders"]:
    write("FuzzBlock", vector["name"], bytes.fromhex(vector["encoding"]))
for vector in VECTORS["invalid"]:
    if vector["type"] in ("Block", "BlockHeader"):
        write("FuzzBlock", "invalid-" + vector["name"], bytes.fromhex(vector["encoding"]))
# FuzzStoredBlock: the vector blocks in the compact on-disk form (ADR 0029): the header, the
# count, then per transaction LEB128 signer number (0-3: the harness's four keys) and LEB128
# length of the transaction after its chain id and signer; the rest of the block as it is.
def leb128(value):
    out = b""
    while value >= 0x80:
        out += bytes([(value & 0x7f) | 0x80])
        value >>= 7
    return out + bytes([value])


TRANSACTIONS = {vector["name"]: bytes.fromhex(vector["encoding"]) for vector in VECTORS["transactions"]}
for vector in VECTORS["blocks"]:
    canonical = bytes.fromhex(vector["encoding"])
    header_length = 4 + len(CHAIN_ID.encode()) + 208
    compact = b"\x01" + canonical[:header_length + 4]
    offset = header_length + 4
    for index, name in enumerate(vector["transactions"]):
        transaction = TRANSACTIONS[name]
        rest = transaction[4 + len(CHAIN_ID.encode()) + 32:]
        compact += leb128(index % 4) + leb128(len(rest)) + rest
        offset += len(transaction)
    write("FuzzStoredBlock", vector["name"], compact + canonical[offset:])
    write("FuzzStoredBlock", "canonical-" + vector["name"], canonical)
for vector in VECTORS["certificates"]:
    write("FuzzCommitCertificate", vector["name"], bytes.fromhex(vector["encoding"]))
for vector in VECTORS["invalid"]:
    if vector["type"] == "CommitCertificate":
        write("FuzzCommitCertificate", "invalid-" + vector["name"], bytes.fromhex(vector["encoding"]))

# FuzzConsensusMessage: the votes of the vectors, and proposals of both blocks signed by
# their proposer (with and without a polka round).
STEPS = {"prevote": 2, "precommit": 3}
for vector in VECTORS["votes"]:
    block_hash = bytes.fromhex(vector["blockHash"])
    option = b"\x00" if block_hash == bytes(32) else b"\x01" + block_hash
    vote = bytes([STEPS[vector["step"]]]) + u64(int(vector["height"])) + u32(int(vector["round"])) + option \
        + bytes.fromhex(key_hex[vector["validatorKey"]]) + bytes.fromhex(vector["signature"])
    write("FuzzConsensusMessage", "vote-" + vector["name"], b"\x02" + vote)
for index, vector in enumerate(VECTORS["blocks"]):
    block = bytes.fromhex(vector["encoding"])
    height, round_ = index + 1, index
    proposer_name = ["validator-city", "validator-chamber"][index]
    proposer = development_key(proposer_name)
    pol = b"\x00" if index == 0 else b"\x01" + u32(0)
    signing = b"KIZUNA/PROPOSAL/V1\x00" + string(CHAIN_ID) + u64(height) + u32(round_) + pol + bytes.fromhex(vector["hash"])
    proposal = u64(height) + u32(round_) + pol + public_bytes(proposer) + proposer.sign(signing) + block
    write("FuzzConsensusMessage", "proposal-" + vector["name"], b"\x01" + proposal)

# FuzzFrame: byte 0 picks the size limit (7 = the 9 MiB default), byte 1 the chunking.
frames = frame(1, b"") + frame(2, bytes([1, 2, 3])) + frame(16, bytes(range(40))) + frame(255, b"\xff")
write("FuzzFrame", "four-frames", bytes([7, 0]) + frames)
write("FuzzFrame", "four-frames-small-limit", bytes([4, 5]) + frames)
write("FuzzFrame", "partial-frame", bytes([7, 3]) + frames + u32(10) + b"\x10abc")
write("FuzzFrame", "empty-frame", bytes([7, 1]) + frame(1, b"x") + u32(0))
write("FuzzFrame", "too-large", bytes([3, 2]) + frame(1, b"x") + u32(6) + b"\x10hello")

# FuzzHandshake: byte 0 holds flags, then the frames validator-chamber sends to validator-city:
# its hello, its proof over validator-city's fixed challenge (0x4b × 32) and the fuzz target's
# fixed channel binding of the encrypted link (0x5b × 32), then a kind-16 frame.
chamber, city = development_key("validator-chamber"), development_key("validator-city")
hello = string(CHAIN_ID) + public_bytes(chamber) + bytes(range(32))
signing = b"KIZUNA/PEER/V1\x00" + string(CHAIN_ID) + bytes([0x5b] * 32) + bytes([0x4b] * 32) + public_bytes(chamber) + public_bytes(city)
proof = chamber.sign(signing)
stream = frame(1, hello) + frame(2, proof) + frame(16, b"consensus")
write("FuzzHandshake", "accepted", b"\x00" + stream)
write("FuzzHandshake", "dialed", b"\x01" + stream)
write("FuzzHandshake", "already-connected", b"\x02" + stream)
write("FuzzHandshake", "timed-out-after-hello", b"\x04" + frame(1, hello))
write("FuzzHandshake", "wrong-chain", b"\x00" + frame(1, string("local-kizuna-2") + public_bytes(chamber) + bytes(32)))

# FuzzGenesis: the local genesis as written in the repository and as in the vectors.
write("FuzzGenesis", "local", open(os.path.join(ROOT, "Genesis/local.json"), "rb").read())
write("FuzzGenesis", "vectors-compact", json.dumps(VECTORS["genesis"][0]["document"], separators=(",", ":")))

# FuzzText: addresses (valid and not), hashes and RFC 3339 times.
for vector in VECTORS["addresses"]:
    write("FuzzText", "address-" + vector["name"], vector["address"])
for vector in VECTORS["invalidAddresses"]:
    write("FuzzText", "invalid-address-" + vector["name"], vector["text"])
write("FuzzText", "hash", VECTORS["transactions"][0]["id"])
write("FuzzText", "hash-uppercase", VECTORS["transactions"][1]["id"].upper())
write("FuzzText", "time-offset", "2026-04-01T00:00:00+09:00")
write("FuzzText", "time-utc", "2026-03-31T15:00:00Z")
write("FuzzText", "time-negative-offset", "2024-02-29T23:59:59-05:30")

# FuzzDecoder: programs over the decoder's primitives. Byte 0 = number of operations, then
# the operation bytes (op % 16 = primitive, op // 16 = limit), then the data they decode.
u16 = lambda value: struct.pack(">H", value)
key = bytes.fromhex(key_hex["resident-1"])
programs = {
    "integers": ([0x00, 0x01, 0x02, 0x03, 0x04, 0x04], b"\x07" + u16(513) + u32(70000) + u64(2**40) + b"\x00\x01"),
    "strings": ([0x85, 0x86, 0x87, 0x88], bytes(range(24)) + u32(3) + b"abc" + u32(5) + "円kz".encode()[:5] + bytes(range(32))),
    "options": ([0x09, 0x8a, 0x0b, 0x0c, 0x8a, 0x0b, 0x0c], b"\x00" + b"\x01" + string("district") + b"\x01" + bytes(32) + b"\x01\x03" + b"\x00\x00\x00"),
    "list": ([0x4d], u32(2) + u16(1) + string("a") + u16(2) + string("bb")),
    "keys": ([0x0e, 0x0f], key + bytes(range(64))),
    "transaction-prefix": ([0x87, 0x0e, 0x03, 0x00], bytes.fromhex(VECTORS["transactions"][5]["encoding"])),
}
for name, (operations, data) in programs.items():
    write("FuzzDecoder", name, bytes([len(operations)] + operations) + data)

# FuzzNodeConfiguration: the local single-node configuration, one with every section, and
# the same in TOML (read when the file name ends in .toml, where the loader supports it).
single = open(os.path.join(ROOT, "Network/local/single.json"), "rb").read()
write("FuzzNodeConfiguration", "single", single)
full = json.loads(single)
full["api"].update({"requestsPerSecondPerClient": 50, "requestBurstPerClient": 100, "rateLimitLoopback": True, "pageSizeMax": 50})
full["access"] = {"credentials": [{"name": "auditor", "role": "auditor", "tokenSha256": hashlib.sha256(b"token").hexdigest()}], "signedRequestSkewMilliseconds": 30000}
write("FuzzNodeConfiguration", "full", json.dumps(full, indent=1))
write("FuzzNodeConfiguration", "single-toml", """dataDirectory = "../../.kizuna/local-single"
genesisFile = "../../Genesis/local.json"
validatorKeyFile = "keys/validator-city.key.json"
blockIntervalMilliseconds = 200
logLevel = "info"

[api]
host = "127.0.0.1"
port = 8080

[[access.credentials]]
name = "auditor"
role = "auditor"
tokenSha256 = "%s"
""" % hashlib.sha256(b"token").hexdigest())

# FuzzNodeConfiguration: the TOML configurations of the local four-validator network.
for name in sorted(os.listdir(os.path.join(ROOT, "Network/local"))):
    if name.endswith(".toml"):
        write("FuzzNodeConfiguration", "network-" + name[:-len(".toml")] + "-toml", open(os.path.join(ROOT, "Network/local", name), "rb").read())

# FuzzPeerMessage: byte 0 is the frame kind (16 consensus, 17 transactions, 18 status,
# 19 blocks request, 20 blocks, 21 block request, 22 block), then the payload.
folder = os.path.join(ROOT, "Fuzz/corpus/FuzzConsensusMessage")
for name in sorted(os.listdir(folder)):
    if name.startswith("seed-"):
        write("FuzzPeerMessage", "consensus-" + name[len("seed-"):], b"\x10" + open(os.path.join(folder, name), "rb").read())
transactions = [bytes.fromhex(vector["encoding"]) for vector in VECTORS["transactions"]]
write("FuzzPeerMessage", "transactions", b"\x11" + u32(len(transactions)) + b"".join(transactions))
write("FuzzPeerMessage", "status", b"\x12" + u64(2) + bytes.fromhex(VECTORS["blocks"][1]["hash"]))
write("FuzzPeerMessage", "blocks-request", b"\x13" + u64(1))
certificates = {int(vector["height"]): bytes.fromhex(vector["encoding"]) for vector in VECTORS["certificates"]}
blocks = [bytes.fromhex(vector["encoding"]) for vector in VECTORS["blocks"]]
write("FuzzPeerMessage", "blocks", b"\x14" + u32(2) + blocks[0] + certificates[1] + blocks[1] + certificates[2])
write("FuzzPeerMessage", "block-request", b"\x15" + bytes.fromhex(VECTORS["blocks"][0]["hash"]))
write("FuzzPeerMessage", "block", b"\x16" + blocks[1])
