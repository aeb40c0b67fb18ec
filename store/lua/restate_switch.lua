-- restate_switch.lua -- puts a restate's shadow in the place of the live
-- derived state, atomically (hk_store_restate_switch).
--
-- KEYS[1]  {prefix}restate          KEYS[2]  {prefix}gen
-- ARGV[1]  the id                   ARGV[2]  the live prefix
-- ARGV[3]  the shadow prefix
-- ARGV[4..] the suffixes of the derived keys (clocks:H, due:H, hcount:H,
--   cs:H:STATE, hkpi:H:DAY, stages, skpi:S:DAY, kpi:…), live or shadow
-- Returns the new generation, or 0 when the restate is not ready (nothing
-- changed).
--
-- Each suffix's shadow key is renamed onto the live name; a live key with
-- no shadow twin is deleted. The generation moves on, so a worker that
-- computed a record under the old config has it refused (cas_put.lua) and
-- reloads; the marker goes.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] or
    redis.call('HGET', KEYS[1], 'state') ~= 'ready' then
  return 0
end
for i = 4, #ARGV do
  local live, shadow = ARGV[2] .. ARGV[i], ARGV[3] .. ARGV[i]
  if redis.call('EXISTS', shadow) == 1 then
    redis.call('RENAME', shadow, live)
  else
    redis.call('DEL', live)
  end
end
redis.call('DEL', KEYS[1])
return redis.call('INCR', KEYS[2])
