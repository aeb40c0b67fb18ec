-- due_next.lua -- the earliest score of some due indexes
-- (hk_store_due_next).
--
-- KEYS[1..N]  the list of buckets of each handoff's due index
--             ({prefix}due:HANDOFF:next, each bucket scored no later than
--             its earliest entry: an early answer only wakes a worker whose
--             take sets the bucket's score right)
-- ARGV        none
-- Returns the earliest score as Redis wrote it (Lua's tostring would round
-- a far-future one to "2e+14"), or nil when every index is empty.
local best, text = false, false
for k = 1, #KEYS do
  local r = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
  if #r == 2 and (not best or tonumber(r[2]) < best) then
    best, text = tonumber(r[2]), r[2]
  end
end
return text
