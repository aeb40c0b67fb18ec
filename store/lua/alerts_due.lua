-- alerts_due.lua -- moves the alerts whose retry is due back to the alerts
-- stream (hk_store_alerts_read).
--
-- KEYS[1]  {prefix}alerts:retry, zset of "ATTEMPT|JSON" scored by when
-- KEYS[2]  {prefix}alerts
-- ARGV[1]  now (ms)
-- Returns the number moved (at most 100 a call).
local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],
  'LIMIT', 0, 100)
for _, x in ipairs(m) do
  local bar = string.find(x, '|', 1, true)
  redis.call('XADD', KEYS[2], '*', 'alert', string.sub(x, bar + 1),
    'attempt', string.sub(x, 1, bar - 1))
  redis.call('ZREM', KEYS[1], x)
end
return #m
