-- resolve_task.lua: the answers of an aggregating task agree: publish its result and resolve it,
-- in one step and once per decision.
--
-- KEYS[1] P:project    hash   per-state counts (aggregating - 1, resolved + 1)
-- KEYS[2] P:tasks      hash   the task's record (state resolved)
-- KEYS[3] P:ready      zset   the task is kept out of it
-- KEYS[4] P:results    stream the result entry (the cursor feed)
-- KEYS[5] P:published  hash   decision id -> results entry id
-- KEYS[6] P:events     stream task.resolved, then result.published
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] task id
-- ARGV[3] decision id (<task id>:<answers>: a task reopened and decided again gets a new one)
-- ARGV[4] answers the decision was taken on: the task must still hold exactly that many
-- ARGV[5] decided at (ms), or "" for now
-- ARGV[6] the id of the request that led here ("" for none: the actor's, from the event it
--         handles), copied into task.resolved
-- ARGV[7..] more field, value pairs of the result (answer, confidence, method, contributors)
--
-- Only an aggregating task is resolved: a decision computed before the task moved on (a
-- duplicate message racing another worker, an extension, a review) writes nothing. The
-- external id comes from the task record.
--
-- Reply: {'ok', entry id, 1} resolved now, {'ok', entry id, 0} this decision was applied before
--     or {'err', 'no_task', ''} | {'err', 'task_state', state} | {'err', 'task_changed', answers}

local now = now_ms(ARGV[1])
local task_id, decision_id = ARGV[2], ARGV[3]
local existing = redis.call('HGET', KEYS[5], decision_id)
if existing then
  return {'ok', existing, 0}
end
local task = load_json(KEYS[2], task_id)
if task == nil then
  return {'err', 'no_task', ''}
end
if task.state ~= 'aggregating' then
  return {'err', 'task_state', task.state}
end
if task.answers ~= tonumber(ARGV[4]) then
  return {'err', 'task_changed', task.answers}
end

set_state(KEYS[1], task, 'resolved')
redis.call('HSET', KEYS[2], task_id, cjson.encode(task))
refresh_ready(KEYS[3], task_id, task)
redis.call('XADD', KEYS[6], '*', 'type', 'task.resolved', 'task', task_id,
  'decision', decision_id, 'answers', task.answers, 'at', now, 'request_id', ARGV[6])

local decided = ARGV[5]
if decided == '' then
  decided = tostring(now)
end
local extra = {}
for i = 7, #ARGV do
  extra[#extra + 1] = ARGV[i]
end
local id, created = append_result(KEYS[4], KEYS[5], KEYS[6], now, decision_id, decided, task_id,
  task.ext or '', extra)
return {'ok', id, created}
