-- restate_begin.lua -- starts a restate (hk_store_restate_begin): writes
-- the marker the workers watch, unless one is there.
--
-- KEYS[1]  {prefix}restate
-- ARGV[1]  the id     ARGV[2]  the new config's text
-- ARGV[3]  begin_ms: when the workers start taking chunks (they all apply
--          new events to the shadow by then)
-- ARGV[4]  subjects per chunk      ARGV[5]  now (ms)
-- Returns 1 when started, 0 when a restate is under way (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'config', ARGV[2],
           'state', 'arming', 'begin_ms', ARGV[3], 'chunk', ARGV[4],
           'created_ms', ARGV[5], 'subjects', 0, 'chunks', 0,
           'chunks_done', 0, 'subjects_done', 0, 'events_done', 0)
return 1
