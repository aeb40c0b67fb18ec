-- consumer_leave.lua -- takes a consumer out of its group unless it holds
-- pending entries (hk_store_consumer_leave).
--
-- KEYS[1]  the stream ({prefix}intake or {prefix}alerts)
-- ARGV[1]  the group
-- ARGV[2]  the consumer
-- Returns 1 when removed, 0 when it holds pending entries (or the group is
-- gone).
local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+',
  1, ARGV[2])
if not ok or #p > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
