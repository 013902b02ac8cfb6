-- record_decision.lua: remember a project's final decision for its quality refit
-- (core.quality.project_quality), once per decision.
--
-- KEYS[1] {p:<project>}:quality:recent  zset  "<task>|<answers>|<confidence>" -> ms
-- KEYS[2] {p:<project>}:project         hash  quality_since -> decisions recorded
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] the member
-- ARGV[3] members kept (the newest)
--
-- A member already there (a redelivered decision) changes nothing, not even its time.
--
-- Reply: decisions recorded so far, counting this one, or 0 when it was recorded already

local now = now_ms(ARGV[1])
if redis.call('ZADD', KEYS[1], 'NX', now, ARGV[2]) == 0 then
  return 0
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
return redis.call('HINCRBY', KEYS[2], 'quality_since', 1)
