-- due_take.lua -- takes and leases the subjects whose time came
-- (hk_store_due_take).
--
-- KEYS[1..N]  the due index of each handoff ({prefix}due:HANDOFF)
-- ARGV[1]     now (ms)
-- ARGV[2]     lease until (ms): the new score of each member taken
-- ARGV[3]     at most this many
-- ARGV[4..]   the handoffs' names, in the order of KEYS
-- Returns "HANDOFF:SUBJECT" of each member taken.
local out = {}
local left = tonumber(ARGV[3])
for k = 1, #KEYS do
  if left <= 0 then break end
  local m = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', ARGV[1],
    'LIMIT', 0, left)
  for _, x in ipairs(m) do
    redis.call('ZADD', KEYS[k], ARGV[2], x)
    table.insert(out, ARGV[3 + k] .. ':' .. x)
  end
  left = left - #m
end
return out
