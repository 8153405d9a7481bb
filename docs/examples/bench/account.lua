-- wrk -t2 -c32 -d20s -s account.lua http://127.0.0.1:PORT  (ADDRESS=kz1… TOKEN=member token)
-- GET /v1/accounts/{address} with a member's bearer token (a Lua script cannot make Ed25519
-- request signatures; a signed read costs one more verification, measured separately).
wrk.method = "GET"
wrk.path = "/v1/accounts/" .. os.getenv("ADDRESS")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
