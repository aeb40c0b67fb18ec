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
--      index ({prefix}due:HANDOFF:N), and the bucket's score in the
--      index's list of buckets ({prefix}due:HANDOFF:next) lowered to it
--   U  ZREM key a(member) of such a bucket; the bucket leaves the list
--      when it is empty
-- Returns 1 when written, 0 when the record was not the old one any more,
-- -1 when the generation is not the one given (a restate switched the
-- config: the caller reloads it and computes again).
--
-- The keys of the changes come in ARGV: they are the same Redis, and the
-- script is the unit of atomicity.

-- A bucket's score in the list of buckets is never later than its
-- earliest entry: a new earliest entry lowers it (ZADD LT), a removal or
-- a later entry leaves it, and due_take.lua sets it exactly when it reads
-- the bucket. An early score costs a look at the bucket when it comes; no
-- clock fires late.
local function list_of(bucket)
  return (string.gsub(bucket, ':%d+$', ':next')),
    string.match(bucket, ':(%d+)$')
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
    -- the list is read (a scan of its listpack) only when the entry is
    -- the bucket's new earliest: rarely, with tens of entries a bucket
    local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    redis.call('ZADD', k, ARGV[i + 2], ARGV[i + 3])
    if #first == 0 or tonumber(ARGV[i + 2]) < tonumber(first[2]) then
      local list, n = list_of(k)
      redis.call('ZADD', list, 'LT', ARGV[i + 2], n)
    end
  elseif op == 'U' then
    if redis.call('ZREM', k, ARGV[i + 2]) == 1 and
        redis.call('EXISTS', k) == 0 then
      local list, n = list_of(k)
      redis.call('ZREM', list, n)
    end
  elseif op == 'X' then
    redis.call('XADD', k, '*', 'alert', ARGV[i + 2], 'attempt', '0')
  end
  i = i + 4
end
return 1
