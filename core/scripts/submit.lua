-- submit.lua: record a volunteer's answer on their live lease.
--
-- KEYS[1] P:project  hash   per-state counts
-- KEYS[2] P:tasks    hash   the task's record (live - 1, answers + 1, maybe aggregating)
-- KEYS[3] P:ready    zset   the task's score (a submitted slot stays taken)
-- KEYS[4] P:asg      hash   the assignment record (state submitted)
-- KEYS[5] P:leases   zset   the lease is removed
-- KEYS[6] P:answers  hash   the task's answer list gets the new answer appended
-- KEYS[7] P:events   stream answer.submitted
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] assignment id
-- ARGV[3] volunteer id (must own the assignment)
-- ARGV[4] submission id
-- ARGV[5] the answer entry: a JSON object starting with '{' (submission id, volunteer, answer…);
--         the script adds "at" without re-encoding it, so the answer keeps its exact bytes
--
-- Reply: {'ok', answers, need, task state}
--     or {'err', 'no_assignment' | 'lease_expired' | 'lease_released' | 'lease_submitted', state}

local now = now_ms(ARGV[1])
local rec, refusal = live_assignment(KEYS[4], ARGV[2], ARGV[3], now)
if not rec then
  return refusal
end
rec.state = 'submitted'
rec.ended = now
rec.sub = ARGV[4]
redis.call('HSET', KEYS[4], ARGV[2], cjson.encode(rec))
redis.call('ZREM', KEYS[5], ARGV[2])

local entry = '{"at":' .. string.format('%d', now) .. ',' .. string.sub(ARGV[5], 2)
local list = redis.call('HGET', KEYS[6], rec.task)
if list then
  list = string.sub(list, 1, -2) .. ',' .. entry .. ']'
else
  list = '[' .. entry .. ']'
end
redis.call('HSET', KEYS[6], rec.task, list)

local task = cjson.decode(redis.call('HGET', KEYS[2], rec.task))
task.live = task.live - 1
task.answers = task.answers + 1
if task.answers >= task.need and task.state ~= 'aggregating' then
  set_state(KEYS[1], task, 'aggregating')
else
  settle_collecting_state(KEYS[1], task)
end
redis.call('HSET', KEYS[2], rec.task, cjson.encode(task))
refresh_ready(KEYS[3], rec.task, task)
redis.call('XADD', KEYS[7], '*', 'type', 'answer.submitted', 'assignment', ARGV[2],
  'task', rec.task, 'volunteer', ARGV[3], 'submission', ARGV[4],
  'answers', task.answers, 'need', task.need, 'at', now)
return {'ok', task.answers, task.need, task.state}
