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
-- The appending itself is append_result (_prelude.lua), shared with resolve_task.lua.

local now = now_ms(ARGV[1])
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
local extra = {}
for i = 6, #ARGV do
  extra[#extra + 1] = ARGV[i]
end
local id, created = append_result(KEYS[1], KEYS[2], KEYS[3], now, ARGV[2], decided, task_id, ext,
  extra)
return {id, created}
