-- replace_provisional.lua: a refit's guesses in place of the provisional answers of the tasks
-- still waiting for a reviewer (core.quality.provisional).
--
-- KEYS[1] {p:<project>}:provisional  hash  task id -> provisional answer (JSON)
-- ARGV[1], ARGV[2], ...  task id, its new provisional answer (JSON), in pairs
--
-- Only a task that has one is written: a reviewer's decision (decide_review.lua) or the
-- task's deletion removed it, and a refit that read the task before must not bring it back.
-- Safe to repeat.
--
-- Reply: how many were replaced

local replaced = 0
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    replaced = replaced + 1
  end
end
return replaced
