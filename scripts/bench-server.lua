-- wrk script for scripts/bench-server.sh: cycles through a mix of requests read from
-- the file named by BENCH_REQUESTS (a Lua file returning { {path, token}, ... }) and
-- counts answers by status across threads.
local requests = dofile(os.getenv("BENCH_REQUESTS"))
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 7
  ok, denied, other = 0, 0, 0
  prepared = {}
  for i, r in ipairs(requests) do
    prepared[i] = wrk.format("GET", r[1], { ["Authorization"] = "Bearer " .. r[2] })
  end
end

function request()
  counter = counter + 1
  return prepared[(counter % #prepared) + 1]
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 403 then denied = denied + 1
  else other = other + 1 end
end

function done(summary, latency, requests_)
  local o, d, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); d = d + t:get("denied"); x = x + t:get("other")
  end
  io.write(string.format("STATUS ok=%d denied=%d other=%d\n", o, d, x))
end
