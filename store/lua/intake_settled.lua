-- intake_settled.lua -- whether a consumer group acknowledged every entry
-- of a stream up to an id (hk_store_intake_settled).
--
-- KEYS[1]  {prefix}intake
-- ARGV[1]  the group          ARGV[2]  the id
-- Returns 1 when every entry up to the id was read and acknowledged, else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  if f['name'] == ARGV[1] then
    local last = f['last-delivered-id']
    if #redis.call('XRANGE', KEYS[1], '(' .. last, ARGV[2], 'COUNT', 1) > 0 then
      return 0
    end
    if f['pending'] > 0 then
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', ARGV[2], 1)
      if #p > 0 then return 0 end
    end
    return 1
  end
end
return #redis.call('XRANGE', KEYS[1], '-', ARGV[2], 'COUNT', 1) == 0 and 1 or 0
