#!/usr/bin/env python3
"""Pay a Kizuna merchant from Python, written from docs/wire-format.md and docs/api.md alone.

    python3 kizuna_pay.py --node http://127.0.0.1:8080 --key resident-1.key.json \
        --merchant kz1... --amount 500

It reads the chain id (GET /v1/status), reads the payer's next nonce with a *signed request*
(GET /v1/accounts/{address}, api.md §3), builds and signs a `pay` transaction (wire-format.md
§5, §7.1), submits it with ?wait=commit, and reads the balance again. Needs the
`cryptography` package for Ed25519; everything else is the standard library.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# --- wire-format.md §2: primitives -------------------------------------------------------


def u32(value):
    return struct.pack(">I", value)


def u64(value):
    return struct.pack(">Q", value)


def string(text):
    data = text.encode("utf-8")
    return u32(len(data)) + data


def domain(tag):
    """wire-format.md §6: the ASCII tag followed by one zero byte."""
    return tag.encode("ascii") + b"\x00"


# --- wire-format.md §8: addresses ---------------------------------------------------------


def address_of(key):
    checksum = hashlib.sha256(domain("KIZUNA/ADDRESS/V1") + key).digest()[:4]
    return "kz1" + base64.b32encode(key + checksum).decode("ascii").lower().rstrip("=")


def key_of(address):
    if not address.startswith("kz1") or len(address) != 61:
        raise ValueError("not a Kizuna address: " + address)
    raw = base64.b32decode(address[3:].upper() + "======")  # 58 characters, padded to 64
    key, checksum = raw[:32], raw[32:36]
    if hashlib.sha256(domain("KIZUNA/ADDRESS/V1") + key).digest()[:4] != checksum:
        raise ValueError("address checksum does not match: " + address)
    if address_of(key) != address:
        raise ValueError("address is not canonical: " + address)
    return key


# --- HTTP --------------------------------------------------------------------------------


def request(node, method, target, body=None, headers=None):
    req = urllib.request.Request(node.rstrip("/") + target, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def signed_get(node, chain_id, seed_key, target):
    """api.md §3: Kizuna-Address, Kizuna-Timestamp, Kizuna-Signature over
    "KIZUNA/REQUEST/V1" 00 || string(chainId) || string(method) || string(target)
    || u64(timestamp) || SHA-256(body)."""
    public = seed_key.public_key().public_bytes_raw()
    timestamp = int(time.time() * 1000)
    message = (domain("KIZUNA/REQUEST/V1") + string(chain_id) + string("GET") + string(target)
               + u64(timestamp) + hashlib.sha256(b"").digest())
    headers = {
        "Kizuna-Address": address_of(public),
        "Kizuna-Timestamp": str(timestamp),
        "Kizuna-Signature": seed_key.sign(message).hex(),
    }
    return request(node, "GET", target, headers=headers)


# --- wire-format.md §5, §7.1: the pay transaction -----------------------------------------

PAY_TAG = 6  # TransactionBody tag of `pay` (wire-format.md §5.2): merchant: key, amount: u64


def pay_transaction(chain_id, payer, nonce, merchant, amount):
    body = bytes([PAY_TAG]) + merchant + u64(amount)
    return string(chain_id) + payer + u64(nonce) + body


def sign_envelope(seed_key, transaction):
    signing_bytes = domain("KIZUNA/TX/V1") + transaction
    transaction_id = hashlib.sha256(signing_bytes).hexdigest()
    signature = seed_key.sign(signing_bytes)
    envelope = transaction + signature + u32(0)  # no co-signatures
    return transaction_id, envelope


def coin_balance(account):
    return next(b["amount"] for b in account["balances"] if b["asset"] == "coin")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", default="http://127.0.0.1:8080")
    parser.add_argument("--key", required=True, help="the payer's key file (JSON with a hex 'seed')")
    parser.add_argument("--merchant", required=True, help="the merchant's address, kz1...")
    parser.add_argument("--amount", type=int, required=True, help="yen")
    args = parser.parse_args()

    with open(args.key) as handle:
        key_file = json.load(handle)
    seed_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key_file["seed"]))
    payer = seed_key.public_key().public_bytes_raw()
    if address_of(payer) != key_file["address"]:
        sys.exit("the key file's seed does not give its address")
    merchant = key_of(args.merchant)

    status, chain = request(args.node, "GET", "/v1/status")
    if status != 200:
        sys.exit("status: HTTP %d %s" % (status, chain))
    chain_id = chain["chainId"]

    target = "/v1/accounts/" + address_of(payer)
    status, account = signed_get(args.node, chain_id, seed_key, target)
    if status != 200:
        sys.exit("reading the payer's account: HTTP %d %s" % (status, account))
    before = coin_balance(account)

    transaction_id, envelope = sign_envelope(seed_key, pay_transaction(chain_id, payer, account["nonce"], merchant, args.amount))
    status, result = request(args.node, "POST", "/v1/transactions?wait=commit", body=envelope,
                             headers={"Content-Type": "application/octet-stream"})
    print(json.dumps(result, sort_keys=True))
    if status != 200 or result.get("status") != "committed":
        sys.exit("payment not committed: HTTP %d" % status)
    if result["id"] != transaction_id:
        sys.exit("the node's transaction id %s is not ours %s" % (result["id"], transaction_id))

    status, account = signed_get(args.node, chain_id, seed_key, target)
    if status != 200:
        sys.exit("reading the payer's account again: HTTP %d %s" % (status, account))
    print("paid %d yen to %s at height %d; coin balance %d -> %d; nonce %d"
          % (args.amount, args.merchant, result["height"], before, coin_balance(account), account["nonce"]))

    # A stranger (no signature) must not read the account.
    status, problem = request(args.node, "GET", target)
    if status != 401 or problem.get("code") != "auth.required":
        sys.exit("an unsigned read of the account was not refused: HTTP %d %s" % (status, problem))


if __name__ == "__main__":
    main()
