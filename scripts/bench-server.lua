-- wrk script for scripts/bench-server.sh: cycles through a mix of requests read from
-- the file named by BENCH_REQUESTS (a Lua file returning { {path, token}, ... }).
--
-- With BENCH_COUNT_STATUS set, it also counts answers by status across threads and prints
-- "STATUS ok=N denied=N other=N". Counting costs the client CPU: wrk hands every response's
-- status, headers and body to Lua (about 6-12 us of wrk's CPU per request on the 2-core machine,
-- which the server then lacks), while the fixed-string route it is compared with runs without a
-- script. So the timed mix runs without it (wrk still counts non-2xx answers itself), and a
-- counting run checks the answers.
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

-- Defined only when counting: wrk asks whether the script has a response function when it loads it.
if os.getenv("BENCH_COUNT_STATUS") then
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
end
