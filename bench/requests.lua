-- wrk script: replay pre-signed Twilio SMS webhooks, each wrk thread its own share of the file.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  requests = {}
  local n = 0
  local total = tonumber(args[2])
  for line in io.lines(args[1]) do
    if n % total == id then
      local signature, body = line:match("([^\t]+)\t(.*)")
      table.insert(requests, wrk.format("POST", "/twilio/sms", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body))
    end
    n = n + 1
  end
  position = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #requests then
    position = 1
    wrapped = wrapped + 1
  end
  return requests[position]
end

function done(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p99=%d\n", latency:percentile(50), latency:percentile(99)))
  for _, thread in ipairs(threads) do
    io.write(string.format("WRAPPED %d\n", thread:get("wrapped")))
  end
end
