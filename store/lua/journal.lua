-- journal.lua -- records every outcome of one delivery and acknowledges it,
-- atomically (hk_store_journal_many).
--
-- KEYS[1]  {prefix}intake     KEYS[2]  {prefix}events
-- KEYS[3]  {prefix}dlq        KEYS[4]  {prefix}counts
-- KEYS[5]  {prefix}stats      KEYS[6]  {prefix}subjects
-- ARGV[1]  the group          ARGV[2]  the delivery's intake id
-- ARGV[3]  idempotence ttl (s)
-- ARGV[4]  the seen-key prefix ({prefix}seen:)
-- ARGV[5]  now (ms), stamps dead letters
-- ARGV[6..11]  the delivery's source, kind, delivery_id, received_ms,
--              signed_ms, headers
-- ARGV[12] the label cap (HK_CAP_SENDER_LABELS)
-- ARGV[13..] the items: kind ('e', 'i' or 'd'), key, counter, then
--   e: the event, its journey key ('' for none), time, member and subject
--   d: rule, reason, ptype and body
-- Returns the number of items written.
--
-- An item whose key was seen within the ttl changes nothing. Each event is
-- also kept in {prefix}journey:SUBJECT (member [id, type, source, attrs,
-- rule], scored by event time; the retention duty trims it by time); ZADD
-- of the same member is a no-op, so an event journaled twice is kept once.
-- {prefix}subjects scores each subject by its newest event time (ZADD GT)
-- and stats field newest_event_ms is the newest event time of all: the
-- retention duty reads both. The events stream is trimmed by time there
-- too, not here.
--
-- The last part of an event's or ignored item's counter (mapped:SOURCE:TYPE,
-- ignored:SOURCE:TYPE) comes from the sender: the first ARGV[12] distinct
-- values of a kind and source are counted under their own name, the rest
-- under SOURCE:other. The field labels:KIND:SOURCE of the counts hash
-- holds how many were taken.
local fresh = 0
local newest = nil
local labels = tonumber(ARGV[12])
local function capped(counter)
  if redis.call('HEXISTS', KEYS[4], counter) == 1 then return counter end
  local group = string.match(counter, '^([^:]*:[^:]*):')
  if group == nil then return counter end
  local taken = tonumber(redis.call('HGET', KEYS[4], 'labels:' .. group) or '0')
  if taken >= labels then return group .. ':other' end
  redis.call('HSET', KEYS[4], 'labels:' .. group, taken + 1)
  return counter
end
local i = 13
while i <= #ARGV do
  local kind, key, counter = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local at = i + 3
  if kind == 'e' then i = i + 8 elseif kind == 'd' then i = i + 7
  else i = i + 3 end
  if redis.call('SET', ARGV[4] .. redis.sha1hex(key), '1', 'NX', 'EX',
                ARGV[3]) then
    fresh = fresh + 1
    if kind ~= 'd' then counter = capped(counter) end
    redis.call('HINCRBY', KEYS[4], counter, 1)
    if kind == 'e' then
      redis.call('XADD', KEYS[2], '*', 'event', ARGV[at])
      local k = ARGV[at + 1]
      if k ~= '' then
        local t = tonumber(ARGV[at + 2])
        redis.call('ZADD', k, ARGV[at + 2], ARGV[at + 3])
        redis.call('ZADD', KEYS[6], 'GT', ARGV[at + 2], ARGV[at + 4])
        if newest == nil or t > newest then newest = t end
      end
    elseif kind == 'd' then
      redis.call('XADD', KEYS[3], '*', 'source', ARGV[6], 'kind',
        ARGV[7], 'delivery_id', ARGV[8], 'received_ms', ARGV[9],
        'signed_ms', ARGV[10], 'headers', ARGV[11], 'body', ARGV[at + 3],
        'rule', ARGV[at], 'reason', ARGV[at + 1], 'ptype', ARGV[at + 2],
        'intake_id', ARGV[2], 'failed_ms', ARGV[5])
    end
  end
end
if newest ~= nil then
  local was = tonumber(redis.call('HGET', KEYS[5], 'newest_event_ms'))
  if was == nil or newest > was then
    redis.call('HSET', KEYS[5], 'newest_event_ms', string.format('%d', newest))
  end
end
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[5], 'processed', 1)
end
return fresh
