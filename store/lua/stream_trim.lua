-- stream_trim.lua -- trims a stream by time, never past an entry a
-- consumer group still has pending or has not read yet, a chunk at a time
-- (hk_store_trim).
--
-- KEYS[1]  the stream ({prefix}intake, events, dlq, alerts)
-- ARGV[1]  the oldest time to keep (ms): entries older go
-- ARGV[2]  the most entries to remove in this call
-- Returns {removed, more}: more is 1 when the chunk stopped it early.
--
-- Each group bounds the trim at its oldest pending entry and just past
-- its last delivered one, so a delivery is removed only once every group
-- read and acknowledged it.
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return {tonumber(ms), tonumber(seq)}
end
local function less(a, b)
  return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
end
local bound = {tonumber(ARGV[1]), 0}
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local last = parse(f['last-delivered-id'])
  last[2] = last[2] + 1
  if less(last, bound) then bound = last end
  if f['pending'] > 0 then
    local oldest = parse(redis.call('XPENDING', KEYS[1], f['name'])[2])
    if less(oldest, bound) then bound = oldest end
  end
end
local chunk = tonumber(ARGV[2])
local more = 0
local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', chunk + 1)
if #head > chunk then
  local b = parse(head[chunk + 1][1])
  if less(b, bound) then bound = b; more = 1 end
end
local removed = redis.call('XTRIM', KEYS[1], 'MINID', '=',
  string.format('%d-%d', bound[1], bound[2]))
return {removed, more}
