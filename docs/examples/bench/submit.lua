-- wrk -t1 -c32 -d20s -s submit.lua http://127.0.0.1:PORT  (SENDS=sends.txt in the environment)
-- Posts each pre-signed transaction of the file once, in order; one thread so that no
-- transaction is sent twice. Counts answers by status.
local transactions = {}
local index = 0
accepted = 0
refused = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function unhex(text)
  return (text:gsub("..", function(pair) return string.char(tonumber(pair, 16)) end))
end

for line in io.lines(os.getenv("SENDS") or "sends.txt") do
  transactions[#transactions + 1] = unhex(line)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"

request = function()
  index = index + 1
  if index > #transactions then index = 1 end
  return wrk.format("POST", "/v1/transactions", nil, transactions[index])
end

response = function(status, headers, body)
  if status == 202 then accepted = accepted + 1 else refused = refused + 1 end
end

done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("202 accepted: %d, other answers: %d\n", thread:get("accepted"), thread:get("refused")))
  end
end
