-- restate_done.lua -- counts a chunk of a restate as done
-- (hk_store_restate_done), once, whoever did it.
--
-- KEYS[1]  {prefix}restate          KEYS[2]  {prefix}restate:leases
-- ARGV[1]  the restate's id         ARGV[2]  the chunk
-- ARGV[3]  its subjects             ARGV[4]  the events it applied
-- ARGV[5]  now (ms)
-- Returns 1 when counted, 0 when the chunk was counted already or the
-- restate is gone. The last chunk moves the state to finishing, and its
-- worker finishes (1 + 2 = 3 is returned).
local m = KEYS[1]
if redis.call('HGET', m, 'id') ~= ARGV[1] then return 0 end
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
local done = redis.call('HINCRBY', m, 'chunks_done', 1)
redis.call('HINCRBY', m, 'subjects_done', ARGV[3])
redis.call('HINCRBY', m, 'events_done', ARGV[4])
if done >= tonumber(redis.call('HGET', m, 'chunks')) and
    redis.call('HGET', m, 'state') == 'running' then
  redis.call('HSET', m, 'state', 'finishing', 'finish_ms', ARGV[5])
  return 3
end
return 1
