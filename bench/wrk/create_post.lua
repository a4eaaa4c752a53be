-- POST /users/{writer}/posts as that writer (BENCH_WRITERS: "id:token ...", a token of
-- "-" for none); with BENCH_READ_SHARE (0-100) that share are GET /users/{random id}.
local users = tonumber(os.getenv("BENCH_USERS"))
local read_share = tonumber(os.getenv("BENCH_READ_SHARE") or "0")
local body = '{"title": "Benchmark post", "content": "Written by wrk to measure creates."}'
local writers = {}
for id, token in string.gmatch(os.getenv("BENCH_WRITERS") or "", "(%d+):(%S+)") do
  local headers = {["Content-Type"] = "application/json"}
  if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
  writers[#writers + 1] = {id = id, headers = headers}
end
request = function()
  if math.random(1, 100) <= read_share then
    return wrk.format("GET", "/users/" .. math.random(1, users))
  end
  local writer = writers[math.random(1, #writers)]
  return wrk.format("POST", "/users/" .. writer.id .. "/posts", writer.headers, body)
end
