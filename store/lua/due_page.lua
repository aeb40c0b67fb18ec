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
-- Each bucket is read from the first entry past the position (among
-- entries at the position's score, its rank found by a binary search),
-- `want` at most and none after the `want`th best found so far. Buckets
-- are read earliest first (a bucket's score in the list is never later
-- than its earliest entry), and no further once one starts after that
-- best. Lua compares strings with strcoll, so members are compared here
-- byte by byte.
local base = string.sub(KEYS[1], 1, -5) -- '…due:HANDOFF:'
local cursor = ARGV[1] == '1'
local at_text, at_member = ARGV[2], ARGV[3]
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

-- The candidates: each bucket's entries past the position, in its order,
-- as long as they come before the `want`th best found so far (cut); sorted
-- and cut back to `want` whenever they reach twice that.
local pool, cut = {}, false
local function compact()
  table.sort(pool, less)
  for x = #pool, want + 1, -1 do pool[x] = nil end
  if #pool == want then cut = pool[want] end
end

-- The entries of bucket past the position, at most `want`, in its order.
local function past(bucket)
  local hi = cut and string.format('%.0f', cut[1]) or '+inf'
  if not cursor then
    return redis.call('ZRANGE', bucket, '-inf', hi, 'BYSCORE', 'LIMIT', 0,
      want, 'WITHSCORES')
  end
  local ties = redis.call('ZCOUNT', bucket, at_text, at_text)
  if ties == 0 then
    return redis.call('ZRANGE', bucket, '(' .. at_text, hi, 'BYSCORE',
      'LIMIT', 0, want, 'WITHSCORES')
  end
  -- the first of the ties whose member is after at_member, by rank
  local lo = redis.call('ZCOUNT', bucket, '-inf', '(' .. at_text)
  local up = lo + ties
  while lo < up do
    local mid = math.floor((lo + up) / 2)
    if before(at_member, redis.call('ZRANGE', bucket, mid, mid)[1]) then
      up = mid
    else
      lo = mid + 1
    end
  end
  return redis.call('ZRANGE', bucket, lo, lo + want - 1, 'WITHSCORES')
end

-- The list is read 32 buckets at a time: a first page stops early.
local from, done = 0, false
while not done do
  local buckets = redis.call('ZRANGE', KEYS[1], from, from + 31, 'WITHSCORES')
  from = from + 32
  done = #buckets < 64
  for j = 1, #buckets, 2 do
    if cut and tonumber(buckets[j + 1]) > cut[1] then
      done = true
      break
    end
    local got = past(base .. buckets[j])
    for x = 1, #got, 2 do
      local e = {tonumber(got[x + 1]), got[x]}
      if cut and not less(e, cut) then break end
      pool[#pool + 1] = e
    end
    if #pool >= 2 * want then compact() end
  end
end
compact()
local out = {}
for _, e in ipairs(pool) do
  table.insert(out, e[2])
  table.insert(out, string.format('%.0f', e[1]))
end
return out
