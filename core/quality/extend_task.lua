-- extend_task.lua: the answers of an aggregating task disagree: ask for one more (dynamic
-- redundancy), up to the project's ceiling.
--
-- KEYS[1] P:project  hash   per-state counts (aggregating - 1, collecting + 1)
-- KEYS[2] P:tasks    hash   the task's record (need + 1, state collecting)
-- KEYS[3] P:ready    zset   the task becomes claimable again
-- KEYS[4] P:events   stream task.extended
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] task id
-- ARGV[3] the need the decision saw: a task no longer aggregating with that need was handled
--         already (a duplicate message), and is left alone
-- ARGV[4] most answers the project allows a task (its max_redundancy)
--
-- Volunteers who answered stay in their P:touched sets, so the extra answer comes from someone
-- new.
--
-- Reply: {'ok', 1, need} extended, {'ok', 0, need} nothing to do (already extended or moved on)
--     or {'err', 'no_task', ''} | {'err', 'need_cap', ceiling}

local now = now_ms(ARGV[1])
local task_id = ARGV[2]
local task = load_json(KEYS[2], task_id)
if task == nil then
  return {'err', 'no_task', ''}
end
if task.state ~= 'aggregating' or task.need ~= tonumber(ARGV[3]) then
  return {'ok', 0, task.need}
end
local ceiling = tonumber(ARGV[4])
if task.need + 1 > ceiling then
  return {'err', 'need_cap', ceiling}
end

task.need = task.need + 1
set_state(KEYS[1], task, 'collecting')
redis.call('HSET', KEYS[2], task_id, cjson.encode(task))
refresh_ready(KEYS[3], task_id, task)
redis.call('XADD', KEYS[4], '*', 'type', 'task.extended', 'task', task_id, 'need', task.need,
  'answers', task.answers, 'at', now)
return {'ok', 1, task.need}
