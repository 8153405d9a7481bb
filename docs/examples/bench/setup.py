#!/usr/bin/env python3
"""Prepares a node for the wrk benchmarks of docs/benchmarks.md ("HTTP API").

    python3 setup.py --node http://127.0.0.1:8080 --keys Network/local/keys \
        --residents 500 --sends 40 --out sends.txt

Registers `--residents` bench residents (seeds SHA-256("kizuna bench resident <i>")) with the
registrar's key, charges each ¥10,000 with the coin issuer's key, and writes `--sends`
pre-signed 1-yen sends per resident (resident i → resident i+1), one hex-encoded
SignedTransaction per line, interleaved by nonce so that each account's nonces arrive in
order. Prints the address of resident 0 (for the account read benchmark).
Uses only docs/wire-format.md encodings (through ../kizuna_pay.py's helpers).
"""
import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kizuna_pay import address_of, request, sign_envelope, string, u64  # noqa: E402

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402


def load_key(path):
    with open(path) as handle:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(json.load(handle)["seed"]))


def public(key):
    return key.public_key().public_bytes_raw()


def transaction(chain_id, signer, nonce, body):
    return string(chain_id) + public(signer) + u64(nonce) + body


def register_body(account):
    # tag 1, account key, role 01 (resident), four absent options
    return bytes([1]) + account + bytes([1, 0, 0, 0, 0])


def charge_body(account, amount, receipt):
    # tag 2, to, amount, channel 01 (app), receipt id
    return bytes([2]) + account + u64(amount) + bytes([1]) + string(receipt)


def send_body(account, amount):
    return bytes([3]) + account + u64(amount)


def submit_all(node, envelopes):
    """Submits in chunks the mempool's per-account limit allows, waiting for each chunk."""
    for start in range(0, len(envelopes), 50):
        chunk = envelopes[start:start + 50]
        for index, (transaction_id, envelope) in enumerate(chunk):
            wait = "?wait=commit" if index == len(chunk) - 1 else ""
            status, result = request(node, "POST", "/v1/transactions" + wait, body=envelope,
                                     headers={"Content-Type": "application/octet-stream"})
            if status not in (200, 202):
                sys.exit("setup submission failed: HTTP %d %s" % (status, result))
        while True:
            status, result = request(node, "GET", "/v1/transactions/" + chunk[-1][0])
            if result and result.get("status") == "committed":
                break
            if result and result.get("status") == "rejected":
                sys.exit("setup transaction rejected: %s" % result)
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", default="http://127.0.0.1:8080")
    parser.add_argument("--keys", default="Network/local/keys")
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--sends", type=int, default=40)
    parser.add_argument("--out", default="sends.txt")
    args = parser.parse_args()

    _, status = request(args.node, "GET", "/v1/status")
    chain_id = status["chainId"]
    registrar = load_key(os.path.join(args.keys, "registrar.key.json"))
    issuer = load_key(os.path.join(args.keys, "coin-issuer.key.json"))
    residents = [Ed25519PrivateKey.from_private_bytes(hashlib.sha256(("kizuna bench resident %d" % i).encode()).digest())
                 for i in range(args.residents)]
    registrar_nonce = status_nonce(args.node, chain_id, registrar)
    issuer_nonce = status_nonce(args.node, chain_id, issuer)
    submit_all(args.node, [sign_envelope(registrar, transaction(chain_id, registrar, registrar_nonce + i, register_body(public(key))))
                           for i, key in enumerate(residents)])
    submit_all(args.node, [sign_envelope(issuer, transaction(chain_id, issuer, issuer_nonce + i, charge_body(public(key), 10_000, "bench-%d-%d" % (issuer_nonce, i))))
                           for i, key in enumerate(residents)])
    with open(args.out, "w") as out:
        for nonce in range(args.sends):
            for i, key in enumerate(residents):
                recipient = public(residents[(i + 1) % len(residents)])
                _, envelope = sign_envelope(key, transaction(chain_id, key, nonce, send_body(recipient, 1)))
                out.write(envelope.hex() + "\n")
    print(address_of(public(residents[0])))


def status_nonce(node, chain_id, key):
    from kizuna_pay import signed_get
    status, account = signed_get(node, chain_id, key, "/v1/accounts/" + address_of(public(key)))
    if status != 200:
        sys.exit("cannot read %s: HTTP %d %s" % (address_of(public(key)), status, account))
    return account["nonce"]


if __name__ == "__main__":
    main()
