-- cas_put.lua -- writes a record only if it is still the one read, with
-- the changes that go with it (hk_store_cas_put).
--
-- KEYS[1]  the record's hash ({prefix}clocks:HANDOFF, {prefix}stages)
-- KEYS[2]  (optional: the fence) the config generation {prefix}gen of the
--          live prefix, also for a shadow's records (restate)
-- ARGV[1]  the field (the subject)
-- ARGV[2]  the record as read ('' for none)
-- ARGV[3]  the new record; '' deletes the field (the subject is erased)
-- ARGV[4]  with KEYS[2] only: the generation the record was computed
--          under; the changes then start at ARGV[5]
-- ARGV[4..] the changes, four arguments each (struct hk_store_op): the
--   operation letter, its key (prefixed), a, b:
--   I  HINCRBY key a(field) b(by)      Z  ZADD key a(score) b(member)
--   R  ZREM key a(member)              X  XADD key alert=a attempt=0
--   D  a due entry: ZADD key a(score) b(member), key a bucket of a due
--      index ({prefix}due:HANDOFF:N), and the bucket's earliest score
--      into the index's list of buckets ({prefix}due:HANDOFF:next)
--   U  ZREM key a(member) of such a bucket, and the same
-- Returns 1 when written, 0 when the record was not the old one any more,
-- -1 when the generation is not the one given (a restate switched the
-- config: the caller reloads it and computes again).
--
-- The keys of the changes come in ARGV: they are the same Redis, and the
-- script is the unit of atomicity.
-- The earliest score of a due bucket, as its member N of the list of
-- buckets (…:next), or out of it when the bucket is empty.
local function settle(bucket)
  local top = string.gsub(bucket, ':%d+$', ':next')
  local n = string.match(bucket, ':(%d+)$')
  local first = redis.call('ZRANGE', bucket, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', top, n)
  else
    redis.call('ZADD', top, first[2], n)
  end
end

local i = 4
if #KEYS > 1 then
  if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[4] then
    return -1
  end
  i = 5
end
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
while i <= #ARGV do
  local op, k = ARGV[i], ARGV[i + 1]
  if op == 'I' then redis.call('HINCRBY', k, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'Z' then redis.call('ZADD', k, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'R' then redis.call('ZREM', k, ARGV[i + 2])
  elseif op == 'D' then
    redis.call('ZADD', k, ARGV[i + 2], ARGV[i + 3])
    settle(k)
  elseif op == 'U' then
    if redis.call('ZREM', k, ARGV[i + 2]) == 1 then settle(k) end
  elseif op == 'X' then
    redis.call('XADD', k, '*', 'alert', ARGV[i + 2], 'attempt', '0')
  end
  i = i + 4
end
return 1
