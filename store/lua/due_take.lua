-- due_take.lua -- takes and leases the subjects whose time came
-- (hk_store_due_take).
--
-- KEYS[1..N]  the list of buckets of each handoff's due index
--             ({prefix}due:HANDOFF:next: member N, bucket
--             {prefix}due:HANDOFF:N, scored no later than the bucket's
--             earliest entry)
-- ARGV[1]     now (ms)
-- ARGV[2]     lease until (ms): the new score of each member taken
-- ARGV[3]     at most this many
-- ARGV[4..]   the handoffs' names, in the order of KEYS
-- Returns "HANDOFF:SUBJECT" of each member taken.
--
-- The list's scores are never later than the buckets' earliest entries
-- (cas_put.lua); a bucket read here gets its exact score again once its
-- members are leased, so the next bucket read is one that may be due now,
-- and the loop ends when none is (a lease is later than now).
local out = {}
local left = tonumber(ARGV[3])
for k = 1, #KEYS do
  local base = string.sub(KEYS[k], 1, -5) -- '…due:HANDOFF:'
  while left > 0 do
    local b = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', ARGV[1],
      'LIMIT', 0, 1)
    if #b == 0 then break end
    local bucket = base .. b[1]
    local m = redis.call('ZRANGEBYSCORE', bucket, '-inf', ARGV[1],
      'LIMIT', 0, left)
    for _, x in ipairs(m) do
      redis.call('ZADD', bucket, ARGV[2], x)
      table.insert(out, ARGV[3 + k] .. ':' .. x)
    end
    left = left - #m
    local first = redis.call('ZRANGE', bucket, 0, 0, 'WITHSCORES')
    if #first == 0 then
      redis.call('ZREM', KEYS[k], b[1])
    else
      redis.call('ZADD', KEYS[k], first[2], b[1])
    end
  end
end
return out
