-- record_decision.lua: remember a project's final decision for its quality refit
-- (core.quality.project_quality), once per decision; a task sent to a reviewer gets its
-- provisional answer in the same step (core.quality.provisional).
--
-- KEYS[1] {p:<project>}:quality:recent  zset  "<task>|<answers>|<confidence>" -> ms
-- KEYS[2] {p:<project>}:project         hash  quality_since -> decisions recorded
-- KEYS[3] {p:<project>}:provisional     hash  task id -> provisional answer (JSON)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] the member
-- ARGV[3] members kept (the newest)
-- ARGV[4] task id
-- ARGV[5] the provisional answer (JSON), or "" when the task is not waiting for a reviewer
--
-- A member already there (a redelivered decision) changes nothing, not even its time, nor
-- the provisional answer (a refit may have replaced it since, or a reviewer settled it).
--
-- Reply: decisions recorded so far, counting this one, or 0 when it was recorded already

local now = now_ms(ARGV[1])
if redis.call('ZADD', KEYS[1], 'NX', now, ARGV[2]) == 0 then
  return 0
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
end
return redis.call('HINCRBY', KEYS[2], 'quality_since', 1)
