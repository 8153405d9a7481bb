// Generated from docs/openapi.yaml — do not edit. Regenerate with
// KIZUNA_WRITE_OPENAPI=1 swift test --filter APIDocumentTests (a test fails when they differ).
// Over 500 lines because it is the whole document, compiled in rather than a resource
// bundle: a bundle would not travel with a copied binary (tools/fault-runner,
// KIZUNA_BINARY) — docs/architecture.md.

/// The OpenAPI document, served at `/v1/openapi.yaml`.
enum APIDocument {
    static let openAPI = #"""
openapi: 3.1.0
info:
  title: Kizuna node API
  version: 1.0.0
  summary: HTTP/JSON API of a Kizuna ledger node (a city's community currency).
  description: |
    Submit signed transactions, read blocks, transactions, accounts, supply, programs and
    reports, and follow committed blocks as server-sent events. The prose guide, with the
    signed-request scheme and the access rules, is `docs/api.md`; the bytes of a transaction
    are specified in `docs/wire-format.md`.

    Access: chain data that reveals no resident is open. An account's balance, history and
    receipts are readable only with a request signed by that account's key (`signedRequest`:
    the three `Kizuna-*` headers together) or with a member/auditor bearer token
    (`bearerToken`). Full blocks are for members and auditors only.

    Every error is an RFC 9457 problem document (`application/problem+json`) with a stable
    `code`. Every route may also answer 429 `api.rate_limited` (with `Retry-After`),
    431 `api.headers_too_large` and 500 `api.internal`. A method a path is not served with
    answers 405 `api.method_not_allowed` with an `Allow` header listing the path's methods;
    a path no route serves, 404 `api.no_such_route`.

    The parameters' schemas say exactly what the node accepts; a value outside them is 400.
    Two formats are Kizuna's own: `kz1-address` (an account address, `docs/wire-format.md`
    §8: `kz1` and 58 base32 characters, `^kz1[a-z2-7]{58}$`, ending in a checksum, of a valid
    Ed25519 key) and `kizuna-transaction` (the canonical encoding of a SignedTransaction,
    `docs/wire-format.md` §5.5, at most 4096 bytes). A well-formed transaction can still be
    refused (422) for its signature, nonce or the ledger's rules, which no schema states.
  license:
    name: Proprietary (consortium)
servers:
  - url: http://127.0.0.1:8080
    description: the local development chain
tags:
  - name: chain
  - name: transactions
  - name: accounts
  - name: reports
  - name: events
security:
  - {}
paths:
  /health:
    get:
      tags: [chain]
      summary: Liveness probe (never rate-limited).
      operationId: health
      responses:
        "200":
          description: The node answers.
          content:
            application/json:
              schema:
                type: object
                required: [status]
                properties:
                  status: {type: string, const: ok}
  /metrics:
    get:
      tags: [chain]
      summary: Prometheus metrics of this node (text exposition format 0.0.4).
      description: |
        Height, round, commits, commit latency, mempool size, peers, peer refusals by code,
        frames dropped to slow peers, missed precommits by validator, blocks synced, signer
        refusals, gossiped transactions. Names and meanings: docs/operations.md, "Metrics and
        health". Open data about the node, not the ledger; rate-limited like every route.
      operationId: metrics
      responses:
        "200":
          description: The metrics.
          content:
            text/plain:
              schema: {type: string}
  /v1/openapi.yaml:
    get:
      tags: [chain]
      summary: This document.
      operationId: openAPIDocument
      responses:
        "200":
          description: The OpenAPI document (YAML; a mapping once parsed).
          content:
            application/yaml:
              schema:
                type: object
                required: [openapi, info, paths]
                properties:
                  openapi: {type: string}
                  info: {type: object}
                  paths: {type: object}
  /v1/status:
    get:
      tags: [chain]
      summary: Chain id, height, tip, validators and whether each is voting.
      operationId: status
      responses:
        "200":
          description: The node's view of the chain.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Status"}
        "429": {$ref: "#/components/responses/RateLimited"}
  /v1/headers/latest:
    get:
      tags: [chain]
      summary: The tip's header (open).
      operationId: latestHeader
      responses:
        "200":
          description: The header.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Header"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/headers/{height}:
    get:
      tags: [chain]
      summary: A block header (open; headers reveal no resident).
      operationId: header
      parameters:
        - $ref: "#/components/parameters/HeightPath"
      responses:
        "200":
          description: The header.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Header"}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/blocks/latest:
    get:
      tags: [chain]
      summary: The tip block in full (members and auditors).
      operationId: latestBlock
      security:
        - bearerToken: []
      responses:
        "200":
          description: The block.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Block"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/blocks/{height}:
    get:
      tags: [chain]
      summary: A block in full — header, transactions, certificates (members and auditors).
      operationId: block
      security:
        - bearerToken: []
      parameters:
        - $ref: "#/components/parameters/HeightPath"
      responses:
        "200":
          description: The block.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Block"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/blocks/{height}/canonical:
    get:
      tags: [chain]
      summary: A block and its commit certificate as canonical bytes, for audits (members and auditors).
      description: |
        The export file's per-block record (`docs/audit.md`): `u32 length ‖ block ‖ u32 length
        ‖ commit certificate`, both in the canonical encoding of `docs/wire-format.md` (the
        bytes the chain hashes), integers big-endian. `kizuna audit --remote` reads the chain
        with it and verifies every byte; nothing in it needs to be trusted.
      operationId: canonicalBlock
      security:
        - bearerToken: []
      parameters:
        - $ref: "#/components/parameters/HeightPath"
      responses:
        "200":
          description: The block's record.
          content:
            application/octet-stream:
              schema: {type: string, contentMediaType: application/octet-stream}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/transactions:
    post:
      tags: [transactions]
      summary: Submit a signed transaction.
      description: |
        The body is the canonical encoding of a SignedTransaction (`docs/wire-format.md` §5.5)
        as `application/octet-stream`, or JSON `{"transaction": "<hex>"}`. Admission runs the
        ledger's rules on the committed state plus the signer's pending transactions: a
        transaction that cannot apply is refused here (422, the ledger's code, final) and never
        left pending. A transaction with the same nonce as a pending one of its account
        replaces it (the displaced one reads `rejected`, `tx.replaced`). With `wait=commit`
        the answer comes when the transaction is committed (200) or rejected (422), or after
        the node's commit wait with 202 `pending`. Under a spike, 503 `mempool.overloaded`
        with `Retry-After` (`docs/api.md` §6).
      operationId: submitTransaction
      parameters:
        - name: wait
          in: query
          required: false
          schema: {type: string, enum: [commit]}
      requestBody:
        required: true
        content:
          application/octet-stream:
            schema:
              type: string
              format: kizuna-transaction
              description: The canonical bytes of a SignedTransaction (at most 4096).
          application/json:
            schema:
              type: object
              required: [transaction]
              properties:
                transaction:
                  type: string
                  format: kizuna-transaction-hex
                  description: |
                    The same bytes as hex, lower or upper case (an even number of digits,
                    `^([0-9a-fA-F]{2})+$`, at most 8192).
      responses:
        "200":
          description: Committed (with wait=commit).
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TransactionStatus"}
          links:
            transactionStatus:
              operationId: transactionStatus
              parameters:
                id: "$response.body#/id"
        "202":
          description: Accepted into the mempool (pending).
          headers:
            Location:
              schema: {type: string}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TransactionStatus"}
          links:
            transactionStatus:
              operationId: transactionStatus
              parameters:
                id: "$response.body#/id"
        "400": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422":
          description: Refused at admission, final (tx.wrong_chain, tx.bad_signature, tx.bad_nonce, tx.nonce_gap, or the ledger's code such as ledger.insufficient_balance — a problem document), or, with wait=commit, rejected after admission (a status object with status "rejected" and the code, e.g. tx.replaced).
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
            application/json:
              schema: {$ref: "#/components/schemas/TransactionStatus"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/transactions/{id}:
    get:
      tags: [transactions]
      summary: Where a transaction stands — pending, committed (height, index) or rejected (code).
      operationId: transactionStatus
      parameters:
        - name: id
          in: path
          required: true
          description: The transaction id, 64 hex digits (`docs/wire-format.md` §7.1).
          schema: {type: string, pattern: "^[0-9a-fA-F]{64}$"}
      responses:
        "200":
          description: Committed.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TransactionStatus"}
        "202":
          description: Pending.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TransactionStatus"}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "422":
          description: Rejected, with the ledger's code.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TransactionStatus"}
  /v1/accounts/{address}:
    get:
      tags: [accounts]
      summary: Role, nonce, frozen, balances with lots and expiry (the account itself, members, auditors).
      operationId: account
      security:
        - signedRequest: []
        - bearerToken: []
      parameters:
        - $ref: "#/components/parameters/AddressPath"
      responses:
        "200":
          description: The account.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Account"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/accounts/{address}/transactions:
    get:
      tags: [accounts]
      summary: The account's history, newest first, paginated (the account itself, members, auditors).
      description: |
        Pages are cut at block boundaries: pass `nextBefore` of one page as `before` of the
        next. There is no per-account index yet: a page scans at most
        `api.historyBlocksScannedMax` blocks, so it may come back short with `nextBefore` set.
      operationId: accountHistory
      security:
        - signedRequest: []
        - bearerToken: []
      parameters:
        - $ref: "#/components/parameters/AddressPath"
        - name: limit
          in: query
          required: false
          description: |
            Transactions per page (default 20), 1 to `api.pageSizeMax`: 100 unless the node's
            configuration says otherwise (then above it is 400 `api.bad_limit`).
          schema: {type: integer, minimum: 1, maximum: 100}
        - name: before
          in: query
          required: false
          description: Only blocks below this height.
          schema: {type: integer, minimum: 0, maximum: 18446744073709551615}
      responses:
        "200":
          description: A page of history.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/History"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/supply:
    get:
      tags: [reports]
      summary: Supply per asset — minted, redeemed, refunded, expired, outstanding.
      operationId: supply
      parameters:
        - $ref: "#/components/parameters/HeightQuery"
      responses:
        "200":
          description: Supply.
          content:
            application/json:
              schema:
                type: object
                required: [height, assets]
                properties:
                  height: {type: integer}
                  assets:
                    type: array
                    items: {$ref: "#/components/schemas/Supply"}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/programs:
    get:
      tags: [reports]
      summary: Every program's utilization — budget, granted, used, expired, remaining.
      operationId: programs
      parameters:
        - $ref: "#/components/parameters/HeightQuery"
      responses:
        "200":
          description: Programs.
          content:
            application/json:
              schema:
                type: object
                required: [height, programs]
                properties:
                  height: {type: integer}
                  programs:
                    type: array
                    items: {$ref: "#/components/schemas/Program"}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/programs/{id}:
    get:
      tags: [reports]
      summary: One program's utilization.
      operationId: program
      parameters:
        - name: id
          in: path
          required: true
          schema: {type: integer, minimum: 0, maximum: 18446744073709551615}
        - $ref: "#/components/parameters/HeightQuery"
      responses:
        "200":
          description: The program.
          content:
            application/json:
              schema:
                type: object
                required: [height, program]
                properties:
                  height: {type: integer}
                  program: {$ref: "#/components/schemas/Program"}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/reports/unused-balance:
    get:
      tags: [reports]
      summary: The statutory unused-balance report at a base date (31 March or 30 September).
      operationId: unusedBalance
      parameters:
        - name: date
          in: query
          required: true
          description: A base date, 31 March or 30 September of a year from 1970 to 9999.
          schema: {type: string, pattern: "^(19[7-9][0-9]|[2-9][0-9]{3})-(03-31|09-30)$"}
        - $ref: "#/components/parameters/HeightQuery"
      responses:
        "200":
          description: The report.
          content:
            application/json:
              schema:
                type: object
                required: [height, report]
                properties:
                  height: {type: integer}
                  report:
                    type: object
                    properties:
                      baseDate: {type: string}
                      closed: {type: boolean}
                      outstandingYen: {type: integer}
                      depositRequiredYen: {type: integer}
                      refundLimitFromUnusedYen: {type: integer}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/reports/settlements/{merchant}:
    get:
      tags: [reports]
      summary: A merchant's settlement statement, split by funder (the merchant itself, members, auditors).
      operationId: settlements
      security:
        - signedRequest: []
        - bearerToken: []
      parameters:
        - name: merchant
          in: path
          required: true
          schema: {$ref: "#/components/schemas/Address"}
        - $ref: "#/components/parameters/HeightQuery"
      responses:
        "200":
          description: The statement.
          content:
            application/json:
              schema:
                type: object
                required: [height, statement]
                properties:
                  height: {type: integer}
                  statement: {type: object}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/reports/aggregates:
    get:
      tags: [reports]
      summary: Payments by merchant category, hour, day, district and age band (small groups suppressed).
      description: A scan of the chain; always counted against `api.historicalQueriesMax`.
      operationId: aggregates
      parameters:
        - name: from
          in: query
          required: true
          description: First day (Japan time), not after `to`.
          schema: {$ref: "#/components/schemas/Day"}
        - name: to
          in: query
          required: true
          description: Last day (Japan time), not before `from`.
          schema: {$ref: "#/components/schemas/Day"}
        - $ref: "#/components/parameters/HeightQuery"
      responses:
        "200":
          description: The aggregates.
          content:
            application/json:
              schema:
                type: object
                required: [height, aggregates]
                properties:
                  height: {type: integer}
                  aggregates: {type: object}
        "400": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v1/events:
    get:
      tags: [events]
      summary: Server-sent events of committed blocks, or of one account's committed transactions.
      description: |
        `event: block` carries height, hash, time, state root and transaction ids.
        With `account`, `event: receipt` carries each committed transaction naming the
        account (needs that account's signature or member/auditor credentials). Each
        event's `id` is its block height; resume with `Last-Event-ID` or `from`.
      operationId: events
      parameters:
        - name: account
          in: query
          required: false
          schema: {$ref: "#/components/schemas/Address"}
        - name: from
          in: query
          required: false
          description: First block height to send (default the next block).
          schema: {type: integer, minimum: 1, maximum: 18446744073709551615}
        - name: limit
          in: query
          required: false
          description: Close the stream after this many events.
          schema: {type: integer, minimum: 1, maximum: 9223372036854775807}
        - name: Last-Event-ID
          in: header
          required: false
          schema: {type: string}
      responses:
        "200":
          description: The event stream.
          content:
            text/event-stream:
              schema: {type: string}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "503": {$ref: "#/components/responses/Unavailable"}
components:
  securitySchemes:
    bearerToken:
      type: http
      scheme: bearer
      description: A member's or auditor's token; the node stores only its SHA-256.
    signedRequest:
      type: apiKey
      in: header
      name: Kizuna-Signature
      description: |
        With `Kizuna-Address` (kz1…) and `Kizuna-Timestamp` (UTC milliseconds, within ±60 s
        of the node's clock): the hex Ed25519 signature over
        "KIZUNA/REQUEST/V1" ‖ 00 ‖ string(chainId) ‖ string(method) ‖ string(path and query)
        ‖ u64(timestamp) ‖ SHA-256(body). Each signature is accepted once.
  parameters:
    HeightPath:
      name: height
      in: path
      required: true
      description: A block height (an unsigned 64-bit integer).
      schema: {type: integer, minimum: 0, maximum: 18446744073709551615}
    HeightQuery:
      name: height
      in: query
      required: false
      description: Answer as of this block height (default the tip). Below the tip the chain is replayed; above it is 404.
      schema: {type: integer, minimum: 0, maximum: 18446744073709551615}
    AddressPath:
      name: address
      in: path
      required: true
      schema: {$ref: "#/components/schemas/Address"}
  responses:
    Problem:
      description: An RFC 9457 problem document with a stable code.
      content:
        application/problem+json:
          schema: {$ref: "#/components/schemas/Problem"}
    RateLimited:
      description: Too many requests from this client (`api.rate_limited`).
      headers:
        Retry-After:
          schema: {type: integer}
      content:
        application/problem+json:
          schema: {$ref: "#/components/schemas/Problem"}
    Unavailable:
      description: A bounded resource is full (`mempool.full`, `mempool.account_queue_full`, `api.busy`, `api.too_many_subscribers`).
      headers:
        Retry-After:
          schema: {type: integer}
      content:
        application/problem+json:
          schema: {$ref: "#/components/schemas/Problem"}
  schemas:
    Address:
      type: string
      format: kz1-address
      description: |
        An account's public key with checksum (`docs/wire-format.md` §8): `kz1` and 58
        characters of `a-z2-7` (`^kz1[a-z2-7]{58}$`), whose last 4 bytes are the checksum of
        the first 32, which are a valid Ed25519 public key.
      examples: [kz145jt2pi77zl4sg3gw25dvfp6vquxrksawhzbqied7eojqzzgu4vmywqlfu]
    Day:
      type: string
      pattern: "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
      description: YYYY-MM-DD, year 1970 to 9999 (the day is not checked against the month's length).
    Hex32:
      type: string
      pattern: "^[0-9a-f]{64}$"
    Problem:
      type: object
      required: [type, title, status, code, detail]
      properties:
        type: {type: string, description: "urn:kizuna:problem:<code>"}
        title: {type: string}
        status: {type: integer}
        code: {type: string}
        detail: {type: string}
    Status:
      type: object
      required: [chainId, height, tipHash, stateRoot, timestamp, pendingTransactions, validators, node]
      properties:
        chainId: {type: string}
        height: {type: integer}
        tipHash: {$ref: "#/components/schemas/Hex32"}
        stateRoot: {$ref: "#/components/schemas/Hex32"}
        timestamp: {type: string}
        pendingTransactions: {type: integer}
        node: {$ref: "#/components/schemas/Address"}
        validators:
          type: array
          items:
            type: object
            properties:
              name: {type: string}
              organisation: {type: string}
              publicKey: {$ref: "#/components/schemas/Address"}
              votingPower: {type: integer}
              voting: {type: boolean, description: "signed the certificate that committed the tip"}
    Header:
      type: object
      properties:
        hash: {$ref: "#/components/schemas/Hex32"}
        chainId: {type: string}
        height: {type: integer}
        previousBlockHash: {$ref: "#/components/schemas/Hex32"}
        timestamp: {type: integer}
        transactionsRoot: {$ref: "#/components/schemas/Hex32"}
        stateRoot: {$ref: "#/components/schemas/Hex32"}
        proposer: {$ref: "#/components/schemas/Address"}
        validatorSetHash: {$ref: "#/components/schemas/Hex32"}
        lastCommitHash: {$ref: "#/components/schemas/Hex32"}
    Certificate:
      type: object
      properties:
        height: {type: integer}
        round: {type: integer}
        blockHash: {$ref: "#/components/schemas/Hex32"}
        hash: {$ref: "#/components/schemas/Hex32"}
        signatures:
          type: array
          items:
            type: object
            properties:
              validator: {$ref: "#/components/schemas/Address"}
              signature: {type: string}
    Transaction:
      type: object
      properties:
        id: {$ref: "#/components/schemas/Hex32"}
        chainId: {type: string}
        signer: {$ref: "#/components/schemas/Address"}
        nonce: {type: integer}
        kind: {type: string, enum: [register, charge, send, create_program, grant, pay, thank, redeem, refund, freeze, unfreeze, recover]}
        body: {type: object, description: "the kind's fields; keys as addresses, amounts in yen"}
        signature: {type: string}
        cosigners:
          type: array
          items: {$ref: "#/components/schemas/Address"}
        encoding: {type: string, description: "hex of the canonical SignedTransaction"}
    Block:
      type: object
      properties:
        header: {$ref: "#/components/schemas/Header"}
        time: {type: string}
        transactions:
          type: array
          items: {$ref: "#/components/schemas/Transaction"}
        lastCommit: {$ref: "#/components/schemas/Certificate"}
        certificate: {$ref: "#/components/schemas/Certificate"}
        encoding: {type: string}
    TransactionStatus:
      type: object
      required: [id, status]
      properties:
        id: {$ref: "#/components/schemas/Hex32"}
        status: {type: string, enum: [pending, committed, rejected]}
        height: {type: integer}
        index: {type: integer}
        blockHash: {$ref: "#/components/schemas/Hex32"}
        code: {type: string}
        message: {type: string}
    Lot:
      type: object
      properties:
        program: {type: integer}
        funder: {$ref: "#/components/schemas/Address"}
        amount: {type: integer}
        grantedAt: {type: integer}
        expiresAt: {type: integer}
        expiresAtText: {type: string}
    Account:
      type: object
      required: [address, role, nonce, frozen, balances]
      properties:
        address: {$ref: "#/components/schemas/Address"}
        role: {type: string, enum: [resident, merchant, authority]}
        merchantCategory: {type: string}
        nonce: {type: integer, description: "the next nonce after the committed transactions"}
        pendingNonce: {type: integer, description: "the next nonce after this node's pending transactions of the account (equal to nonce when none is pending); sign with it to follow them rather than replace one"}
        frozen: {type: boolean}
        registeredAt: {type: integer}
        successor: {$ref: "#/components/schemas/Address"}
        balances:
          type: array
          items:
            type: object
            properties:
              asset: {type: string, enum: [coin, point, thanks]}
              amount: {type: integer}
              expiresAt: {type: integer}
              expiresAtText: {type: string}
              lots:
                type: array
                items: {$ref: "#/components/schemas/Lot"}
    History:
      type: object
      required: [address, transactions, blocksScanned]
      properties:
        address: {$ref: "#/components/schemas/Address"}
        nextBefore: {type: integer}
        blocksScanned: {type: integer}
        transactions:
          type: array
          items:
            type: object
            properties:
              id: {$ref: "#/components/schemas/Hex32"}
              height: {type: integer}
              index: {type: integer}
              timestamp: {type: integer}
              time: {type: string}
              transaction: {$ref: "#/components/schemas/Transaction"}
    Supply:
      type: object
      properties:
        asset: {type: string}
        minted: {type: integer}
        redeemed: {type: integer}
        refunded: {type: integer}
        expired: {type: integer}
        outstanding: {type: integer}
    Program:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
        asset: {type: string}
        funder: {$ref: "#/components/schemas/Address"}
        issuer: {$ref: "#/components/schemas/Address"}
        budget: {type: integer}
        granted: {type: integer}
        used: {type: integer}
        expired: {type: integer}
        outstanding: {type: integer}
        remaining: {type: integer}
        perResidentCap: {type: integer}
        rebate: {type: boolean}
"""#
}
