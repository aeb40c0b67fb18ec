-- due_move.lua -- moves entries of a due index kept as one sorted set
-- (the layout before buckets, {prefix}due:HANDOFF) into its buckets
-- (hk_store_due_upgrade).
--
-- KEYS[1]  the old index
-- ARGV     bucket, score, member for each entry: the bucket
--          ({prefix}due:HANDOFF:N) the member belongs in
-- Returns the number of entries moved.
--
-- An entry already in its bucket was written since by a worker of this
-- layout, and is newer: it stays (NX). One moved that is stale only makes
-- a worker look at the subject once more.
local moved = 0
for i = 1, #ARGV, 3 do
  local bucket, score, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('ZREM', KEYS[1], member) == 1 then
    redis.call('ZADD', bucket, 'NX', score, member)
    local top = string.gsub(bucket, ':%d+$', ':next')
    local n = string.match(bucket, ':(%d+)$')
    local first = redis.call('ZRANGE', bucket, 0, 0, 'WITHSCORES')
    redis.call('ZADD', top, first[2], n)
    moved = moved + 1
  end
end
return moved
