-- open_review.lua: send a task to the reviewers' queue (disagreement, spot check, stalled).
--
-- KEYS[1] P:project       hash   per-state counts
-- KEYS[2] P:tasks         hash   the task's record (state in_review, review reason)
-- KEYS[3] P:ready         zset   the task leaves it (in_review is not collectable)
-- KEYS[4] P:review_queue  zset   the task joins it, score -priority (lowest first)
-- KEYS[5] P:events        stream review.opened
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] task id
-- ARGV[3] reason: disagreement | spot_check | stalled (checked by the caller)
-- ARGV[4] priority: higher is reviewed first
--
-- Any non-terminal task can be opened for review (open, collecting, aggregating, stalled), as
-- long as no lease is live on it: an answer landing after the review started would otherwise
-- be judged by nobody. Opening a task already in review does nothing (idempotent).
--
-- Reply: {'ok', 1} opened, {'ok', 0} already in review (nothing written)
--     or {'err', 'no_task', ''} | {'err', 'task_closed', state} | {'err', 'task_busy', live}

local now = now_ms(ARGV[1])
local task_id = ARGV[2]
local task = load_json(KEYS[2], task_id)
if task == nil then
  return {'err', 'no_task', ''}
end
if task.state == 'in_review' then
  return {'ok', 0}
end
if task.state == 'resolved' or task.state == 'rejected' or task.state == 'delivered' then
  return {'err', 'task_closed', task.state}
end
if task.live > 0 then
  return {'err', 'task_busy', task.live}
end

set_state(KEYS[1], task, 'in_review')
task.review = ARGV[3]
redis.call('HSET', KEYS[2], task_id, cjson.encode(task))
refresh_ready(KEYS[3], task_id, task)
redis.call('ZADD', KEYS[4], -tonumber(ARGV[4]), task_id)
redis.call('XADD', KEYS[5], '*', 'type', 'review.opened', 'task', task_id, 'reason', ARGV[3],
  'answers', task.answers, 'at', now)
return {'ok', 1}
