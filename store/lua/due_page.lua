-- due_page.lua -- the earliest entries of a due index past a position,
-- over all its buckets (hk_store_due_page).
--
-- KEYS[1]  the list of buckets ({prefix}due:HANDOFF:next)
-- ARGV[1]  from this score on ('-inf': from the start)
-- ARGV[2]  '1': the position is an entry at that very score, so the
--          entries at it are returned all (the caller skips those up to
--          its member) and the others from above it
-- ARGV[3]  how many the caller wants past the position
-- Returns member, score, member, score… unsorted: every entry at the
-- position's score (ARGV[2] '1'), and the `want` earliest past it with
-- every entry that ties the last of them. The caller sorts by score, then
-- member, as Redis does.
--
-- Buckets are read earliest first (a bucket's score in the list is never
-- later than its earliest entry), and no further once a bucket starts
-- later than the `want`th earliest entry already found.
local base = string.sub(KEYS[1], 1, -5) -- '…due:HANDOFF:'
local from, want = ARGV[1], tonumber(ARGV[3])
local at = ARGV[2] == '1'
local out = {}
local found = {} -- {score number, score text, member} past the position
local cut = false -- the `want`th earliest of found, once there are that many

local function keep(got)
  for j = 1, #got, 2 do
    table.insert(found, {tonumber(got[j + 1]), got[j + 1], got[j]})
  end
end

local buckets = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for j = 1, #buckets, 2 do
  if cut and tonumber(buckets[j + 1]) > cut[1] then break end
  local bucket = base .. buckets[j]
  if at then
    local same = redis.call('ZRANGEBYSCORE', bucket, from, from, 'WITHSCORES')
    for _, x in ipairs(same) do table.insert(out, x) end
  end
  local got = redis.call('ZRANGEBYSCORE', bucket, at and '(' .. from or from,
    cut and cut[2] or '+inf', 'WITHSCORES', 'LIMIT', 0, want)
  if #got == 2 * want then
    -- the LIMIT may have cut entries that tie the last: take them all
    local last = got[#got]
    local n = #got
    while n > 0 and got[n] == last do n = n - 2 end
    for x = #got, n + 1, -1 do got[x] = nil end
    keep(got)
    keep(redis.call('ZRANGEBYSCORE', bucket, last, last, 'WITHSCORES'))
  else
    keep(got)
  end
  if #found >= want then
    table.sort(found, function(a, b) return a[1] < b[1] end)
    cut = found[want]
    local n = #found
    while n > want and found[n][1] > cut[1] do
      found[n] = nil
      n = n - 1
    end
  end
end
for _, f in ipairs(found) do
  table.insert(out, f[3])
  table.insert(out, f[2])
end
return out
