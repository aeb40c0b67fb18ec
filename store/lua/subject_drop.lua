-- subject_drop.lua -- removes subjects' histories and their entries in
-- {prefix}subjects (hk_store_subjects_drop).
--
-- KEYS[1]  {prefix}subjects
-- ARGV[1]  the history key prefix ({prefix}journey:)
-- ARGV[2]  the horizon (ms): a subject goes only while its newest event
--          is older; '' drops it whatever its age (a forget)
-- ARGV[3..] the subjects
-- Returns the number of subjects dropped.
--
-- With a horizon, a subject that had a new event since it was listed
-- stays (its old events go with the history trim).
local dropped = 0
for i = 3, #ARGV do
  local s = ARGV[i]
  local newest = tonumber(redis.call('ZSCORE', KEYS[1], s) or '0')
  if ARGV[2] == '' or newest < tonumber(ARGV[2]) then
    redis.call('DEL', ARGV[1] .. s)
    dropped = dropped + redis.call('ZREM', KEYS[1], s)
  end
end
return dropped
