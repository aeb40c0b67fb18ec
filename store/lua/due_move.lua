-- due_move.lua -- moves entries of a due index kept as one sorted set
-- (the layout before buckets, {prefix}due:HANDOFF) into its buckets
-- (hk_store_due_upgrade).
--
-- KEYS[1]  the old index
-- KEYS[2]  the list of buckets of the index ({prefix}due:HANDOFF:next)
-- ARGV     bucket number, score, member for each entry: the bucket
--          ({prefix}due:HANDOFF:N) the member belongs in
-- Returns the number of entries moved.
--
-- An entry already in its bucket was written since by a worker of this
-- layout, and is newer: it stays (NX). One moved that is stale only makes
-- a worker look at the subject once more. The list is lowered as
-- cas_put.lua lowers it: never later than a bucket's earliest entry.
local base = string.sub(KEYS[2], 1, -5) -- '…due:HANDOFF:'
local moved = 0
for i = 1, #ARGV, 3 do
  local n, score, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('ZREM', KEYS[1], member) == 1 then
    if redis.call('ZADD', base .. n, 'NX', score, member) == 1 then
      redis.call('ZADD', KEYS[2], 'LT', score, n)
    end
    moved = moved + 1
  end
end
return moved
