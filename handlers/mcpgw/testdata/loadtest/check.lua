-- wrk script for POST /api/v1/check: cycles through allowed and denied decisions of the demo
-- policy. The key secret comes from the environment (WARDEN_SECRET); with WARDEN_SECRETS_FILE
-- set (apiserver -keys N), requests cycle through that file's secrets as well.
local secrets = {os.getenv("WARDEN_SECRET")}
local file = os.getenv("WARDEN_SECRETS_FILE")
if file and file ~= "" then
  secrets = {}
  for line in io.lines(file) do secrets[#secrets + 1] = line end
end
local templates = {
  '","server":"github","tool":"create_issue"}',
  '","server":"github","tool":"delete_repo"}',
  '","server":"github","tool":"create_issue","end_user":"alice"}',
  '","server":"slack","tool":"post_message","end_user":"dave"}',
  '","server":"postgres","tool":"query","agent":"research-agent"}',
}
local i, k = 0, 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #templates + 1
  k = k % #secrets + 1
  return wrk.format(nil, nil, nil, '{"key":"' .. secrets[k] .. templates[i])
end
-- Count answers that are not 200 so a run that failed is visible.
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
