-- due_page.lua -- the earliest entries of a due index past a position,
-- over all its buckets, in Redis's order (hk_store_due_page).
--
-- KEYS[1]  the list of buckets ({prefix}due:HANDOFF:next)
-- ARGV[1]  '1' when there is a position, '0' to start from the beginning
-- ARGV[2]  the position's score (an integer)
-- ARGV[3]  the position's member
-- ARGV[4]  how many to return at most (want)
-- Returns member, score, member, score…: the `want` earliest entries past
-- the position, by score and then member compared byte by byte (as Redis
-- orders a sorted set), scores as integers.
--
-- Each bucket is read from the first entry past the position (its rank
-- found by a binary search among the entries at the position's score),
-- `want` at most, merged into the best `want` so far. Buckets are read
-- earliest first (a bucket's score in the list is never later than its
-- earliest entry), and no further once one starts after the `want`th
-- best. Lua compares strings with strcoll, so members are compared here
-- byte by byte.
local base = string.sub(KEYS[1], 1, -5) -- '…due:HANDOFF:'
local cursor = ARGV[1] == '1'
local at_text, at_member = ARGV[2], ARGV[3]
local at = tonumber(at_text)
local want = tonumber(ARGV[4])

local function before(x, y) -- x < y, byte by byte
  local n = math.min(#x, #y)
  for i = 1, n do
    local p, q = string.byte(x, i), string.byte(y, i)
    if p ~= q then return p < q end
  end
  return #x < #y
end

local function less(a, b) -- a, b: {score, member}
  if a[1] ~= b[1] then return a[1] < b[1] end
  return before(a[2], b[2])
end

local best = {} -- sorted, at most want
-- Inserts e in order; false when it does not make the best `want` (nor
-- will any later entry of its bucket).
local function offer(e)
  if #best == want and not less(e, best[want]) then return false end
  local i = #best
  if i == want then
    best[want] = nil
    i = want - 1
  end
  while i >= 1 and less(e, best[i]) do
    best[i + 1] = best[i]
    i = i - 1
  end
  best[i + 1] = e
  return true
end

-- The rank of the first entry of bucket past the position.
local function first_past(bucket)
  if not cursor then return 0 end
  local lo = redis.call('ZCOUNT', bucket, '-inf', '(' .. at_text)
  local hi = lo + redis.call('ZCOUNT', bucket, at_text, at_text)
  while lo < hi do -- the first of [lo, hi) whose member is after at_member
    local mid = math.floor((lo + hi) / 2)
    local m = redis.call('ZRANGE', bucket, mid, mid)[1]
    if before(at_member, m) then hi = mid else lo = mid + 1 end
  end
  return lo
end

local buckets = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for j = 1, #buckets, 2 do
  if #best == want and tonumber(buckets[j + 1]) > best[want][1] then break end
  local bucket = base .. buckets[j]
  local from = first_past(bucket)
  local got = redis.call('ZRANGE', bucket, from, from + want - 1,
    'WITHSCORES')
  for x = 1, #got, 2 do
    if not offer({tonumber(got[x + 1]), got[x]}) then break end
  end
end
local out = {}
for _, e in ipairs(best) do
  table.insert(out, e[2])
  table.insert(out, string.format('%.0f', e[1]))
end
return out
