-- restate_state.lua -- moves a restate from one state to the next
-- (hk_store_restate_state), only from the state expected.
--
-- KEYS[1]  {prefix}restate
-- ARGV[1]  the id     ARGV[2]  the state expected     ARGV[3]  the next
-- ARGV[4]  now (ms), kept as NEXT_ms
-- Returns 1 when moved, 0 when the marker is another or elsewhere.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] or
    redis.call('HGET', KEYS[1], 'state') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[3], ARGV[3] .. '_ms', ARGV[4])
return 1
