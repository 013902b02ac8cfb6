-- close_collection.lua: stop collecting answers on a task and decide it with those it has (a
-- project's policy changed and its answers may now be enough; core.projects.reevaluation).
--
-- KEYS[1] P:project  hash   per-state counts (collecting - 1, aggregating + 1)
-- KEYS[2] P:tasks    hash   the task's record (need = answers, state aggregating)
-- KEYS[3] P:ready    zset   the task leaves it (aggregating is not collectable)
-- KEYS[4] P:events   stream task.collection_closed (routed to the aggregation, like a last
--                           answer)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] task id
-- ARGV[3] the number of answers the decision to close was taken on
--
-- Only a task still collecting, with exactly that many answers (at least one) and no live
-- lease, is closed: a volunteer working on it keeps their slot, and an answer landing since
-- the decision means it is stale. Anything else is left alone.
--
-- Reply: {'ok', 1} closed, {'ok', 0, state} left alone, or {'err', 'no_task', ''}

local now = now_ms(ARGV[1])
local task_id = ARGV[2]
local task = load_json(KEYS[2], task_id)
if task == nil then
  return {'err', 'no_task', ''}
end
local answers = tonumber(ARGV[3])
if task.state ~= 'collecting' or task.answers ~= answers or answers < 1 or task.live > 0 then
  return {'ok', 0, task.state}
end

task.need = task.answers
set_state(KEYS[1], task, 'aggregating')
redis.call('HSET', KEYS[2], task_id, cjson.encode(task))
refresh_ready(KEYS[3], task_id, task)
redis.call('XADD', KEYS[4], '*', 'type', 'task.collection_closed', 'task', task_id,
  'need', task.need, 'answers', task.answers, 'at', now)
return {'ok', 1}
