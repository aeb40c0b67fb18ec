-- history_trim.lua -- trims the histories of a slice of the subjects by
-- time (hk_store_history_trim).
--
-- KEYS[1]  {prefix}subjects   KEYS[2]  {prefix}stats
-- ARGV[1]  the history key prefix ({prefix}journey:)
-- ARGV[2]  the horizon (ms): events older go
-- ARGV[3]  how many subjects to visit
-- Returns {subjects visited, events removed}.
--
-- The walk goes through {prefix}subjects by rank from where the last call
-- stopped (stats field history_cursor) and starts over at the end. A
-- subject added or removed meanwhile shifts the ranks by a few: a subject
-- skipped is visited on the next walk.
local from = tonumber(redis.call('HGET', KEYS[2], 'history_cursor') or '0')
local count = tonumber(ARGV[3])
local subs = redis.call('ZRANGE', KEYS[1], from, from + count - 1)
local removed = 0
for _, s in ipairs(subs) do
  removed = removed + redis.call('ZREMRANGEBYSCORE', ARGV[1] .. s, '-inf',
                                 '(' .. ARGV[2])
end
local nxt = 0
if #subs == count then nxt = from + count end
redis.call('HSET', KEYS[2], 'history_cursor', nxt)
return {#subs, removed}
