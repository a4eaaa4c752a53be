-- POST /users with names unique across threads, rounds and apps (BENCH_TAG), each with a
-- password: our api hashes it (Argon2id), the price of an account.
local tag = os.getenv("BENCH_TAG")
local counter = 0
local thread_id = 0
local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end
request = function()
  counter = counter + 1
  local name = string.format("%s_%d_%d", tag, thread_id, counter)
  return wrk.format("POST", "/users", {["Content-Type"] = "application/json"},
    string.format('{"username": "%s", "email": "%s@example.com", "password": "bench passphrase %s"}',
      name, name, name))
end
