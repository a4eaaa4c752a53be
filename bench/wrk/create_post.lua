-- POST /users/{random id}/posts; with BENCH_READ_SHARE (0-100) that share are GET /users/{id}.
local users = tonumber(os.getenv("BENCH_USERS"))
local read_share = tonumber(os.getenv("BENCH_READ_SHARE") or "0")
local body = '{"title": "Benchmark post", "content": "Written by wrk to measure creates."}'
request = function()
  local id = math.random(1, users)
  if math.random(1, 100) <= read_share then
    return wrk.format("GET", "/users/" .. id)
  end
  return wrk.format("POST", "/users/" .. id .. "/posts",
    {["Content-Type"] = "application/json"}, body)
end
