-- dlq_retry.lua -- queues a dead letter again as what it was and removes
-- it, atomically (hk_store_dlq_retry).
--
-- KEYS[1]  {prefix}dlq
-- KEYS[2]  {prefix}intake
-- KEYS[3]  {prefix}alerts
-- ARGV[1]  the letter's id
-- Returns the new id (on the intake stream, or on the alerts stream for an
-- alert), or nil when there is no such letter.
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return false end
local m = {}
local f = e[1][2]
for j = 1, #f, 2 do m[f[j]] = f[j + 1] end
if m.kind == 'alert' then
  local id = redis.call('XADD', KEYS[3], '*', 'alert', m.alert,
    'attempt', '0')
  redis.call('XDEL', KEYS[1], ARGV[1])
  return id
end
local id = redis.call('XADD', KEYS[2], '*', 'source', m.source, 'kind',
  m.kind, 'delivery_id', m.delivery_id, 'received_ms', m.received_ms,
  'signed_ms', m.signed_ms, 'headers', m.headers, 'body', m.body,
  'retried_from', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return id
