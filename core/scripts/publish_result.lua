-- publish_result.lua: append a decided result to the project's results feed, once per decision.
--
-- KEYS[1] P:results    stream the cursor feed read by GET /results and the exports
-- KEYS[2] P:published  hash   decision id -> results entry id (a second publish is a no-op)
-- KEYS[3] P:events     stream one result.published event (the outbox for webhook delivery)
-- KEYS[4] P:tasks      hash   read only: the task's external id when the caller gave none
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] decision id (stable for one decision, so a retried publish finds the first one)
-- ARGV[3] decided at (ms), or "" for now
-- ARGV[4] task id
-- ARGV[5] external id, or "" to take the task's own
-- ARGV[6..] more field, value pairs of the result (answer, confidence, method, …)
--
-- Reply: {entry id, 1} when appended, {entry id, 0} when this decision was already published.

local now = now_ms(ARGV[1])
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then
  return {existing, 0}
end
local decided = ARGV[3]
if decided == '' then
  decided = tostring(now)
end
local task_id = ARGV[4]
local ext = ARGV[5]
if ext == '' then
  local task = load_json(KEYS[4], task_id)
  if task and task.ext then
    ext = task.ext
  end
end
local fields = {'decision_id', ARGV[2], 'decided_at', decided, 'task_id', task_id,
  'external_id', ext}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('HSET', KEYS[2], ARGV[2], id)
redis.call('XADD', KEYS[3], '*', 'type', 'result.published', 'task', task_id, 'result', id,
  'at', now)
return {id, 1}
