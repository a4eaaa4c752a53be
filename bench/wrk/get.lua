-- GET BENCH_PATH, with {id} replaced by a random user id in 1..BENCH_USERS.
local path = os.getenv("BENCH_PATH")
local users = tonumber(os.getenv("BENCH_USERS"))
request = function()
  return wrk.format("GET", (path:gsub("{id}", tostring(math.random(1, users)))))
end
