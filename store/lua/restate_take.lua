-- restate_take.lua -- hands a worker the next piece of a restate's work
-- (hk_store_restate_take): a chunk of subjects whose histories it applies
-- to the shadow, or the finish.
--
-- KEYS[1]  {prefix}restate          the marker (hash)
-- KEYS[2]  {prefix}restate:todo     the subjects to restate (zset, all 0)
-- KEYS[3]  {prefix}subjects         every subject with a history (zset)
-- KEYS[4]  {prefix}restate:leases   chunk -> lease end (ms)
-- ARGV[1]  the restate's id         ARGV[2]  now (ms)
-- ARGV[3]  the lease (ms)
-- Returns {k, subject...} for chunk k; {-1} nothing to do now; {-2} no
-- such restate; {-3} this worker finishes (evaluates the shadow's due
-- clocks and writes its documents).
--
-- The first call at or after the marker's begin_ms copies the subjects,
-- scored 0 so that they keep their order by name while new events move
-- the scores of {prefix}subjects: a chunk is a fixed range of names. A
-- chunk whose lease lapsed (its worker died) is handed out again.
local m = KEYS[1]
local now = tonumber(ARGV[2])
if redis.call('HGET', m, 'id') ~= ARGV[1] then return {-2} end
local state = redis.call('HGET', m, 'state')
local chunk = tonumber(redis.call('HGET', m, 'chunk'))
if state == 'arming' then
  if now < tonumber(redis.call('HGET', m, 'begin_ms')) then return {-1} end
  redis.call('DEL', KEYS[2], KEYS[4])
  local n = 0
  if redis.call('EXISTS', KEYS[3]) == 1 then
    n = redis.call('ZUNIONSTORE', KEYS[2], 1, KEYS[3], 'WEIGHTS', 0)
  end
  redis.call('HSET', m, 'state', 'running', 'subjects', n,
             'chunks', math.ceil(n / chunk), 'next', 0, 'running_ms', now)
  state = 'running'
end
if state == 'finishing' then
  if now - tonumber(redis.call('HGET', m, 'finish_ms')) >
      tonumber(ARGV[3]) then
    redis.call('HSET', m, 'finish_ms', now)
    return {-3}
  end
  return {-1}
end
if state ~= 'running' then return {-1} end
local k = nil
local leases = redis.call('HGETALL', KEYS[4])
for i = 1, #leases, 2 do
  if tonumber(leases[i + 1]) < now then
    k = tonumber(leases[i])
    break
  end
end
if k == nil then
  local nxt = tonumber(redis.call('HGET', m, 'next'))
  if nxt >= tonumber(redis.call('HGET', m, 'chunks')) then
    if tonumber(redis.call('HGET', m, 'chunks_done') or '0') >=
        tonumber(redis.call('HGET', m, 'chunks')) then
      redis.call('HSET', m, 'state', 'finishing', 'finish_ms', now)
      return {-3}
    end
    return {-1}
  end
  k = nxt
  redis.call('HSET', m, 'next', nxt + 1)
end
redis.call('HSET', KEYS[4], k, now + tonumber(ARGV[3]))
local out = {k}
local subjects = redis.call('ZRANGE', KEYS[2], k * chunk, (k + 1) * chunk - 1)
for i = 1, #subjects do out[#out + 1] = subjects[i] end
return out
