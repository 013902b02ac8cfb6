-- submit.lua: record a volunteer's answer on their live lease.
--
-- KEYS[1] P:project  hash   per-state counts
-- KEYS[2] P:tasks    hash   the task's record (live - 1, answers + 1, maybe aggregating)
-- KEYS[3] P:ready    zset   the task's score (a submitted slot stays taken)
-- KEYS[4] P:asg      hash   the assignment record (state submitted)
-- KEYS[5] P:leases   zset   the lease is removed
-- KEYS[6] P:answers  hash   the task's answer list gets the new answer appended
-- KEYS[7] P:events   stream answer.submitted, or gold.answered for a gold task
-- KEYS[8] P:qual     hash   the volunteer's qualification record (gold tasks of a project with
--                           qual_tasks > 0)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] assignment id
-- ARGV[3] volunteer id (must own the assignment)
-- ARGV[4] submission id
-- ARGV[5] the answer entry: a JSON object starting with '{' (submission id, volunteer, answer…);
--         the script adds "at" without re-encoding it, so the answer keeps its exact bytes
-- ARGV[6] for a gold task: the answer's score against the gold answer, in [0, 1] (the caller
--         scores it: task types are Python); "" otherwise
-- ARGV[7] for a gold task: 1 when that score counts as correct, else 0
-- ARGV[8] the id of the HTTP request submitting it ("" for none), copied into the event so
--         the actors handling it log under the same id
--
-- A gold task's answer is kept with the others of that task (the NGO may look at them) but
-- moves nothing: no answer count, no state, no aggregation. When the project asks for
-- qualification, the volunteer's record counts the round: after qual_tasks gold answers, at
-- least qual_pass of them correct passes for good; fewer fails the round, which starts again
-- after qual_cooldown_ms (retry_at).
--
-- Reply: {'ok', answers, need, task state} ('gold' for a gold task: answers and need are 0)
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
if task.state == 'gold' then
  redis.call('HSET', KEYS[2], rec.task, cjson.encode(task))
  local outcome = ''
  local policy = redis.call('HMGET', KEYS[1], 'qual_tasks', 'qual_pass', 'qual_cooldown_ms')
  local round = tonumber(policy[1] or '') or 0
  local record = load_json(KEYS[8], ARGV[3]) or {answered = 0, correct = 0, rounds = 0}
  if round > 0 and not record.passed then
    record.answered = record.answered + 1
    record.correct = record.correct + (tonumber(ARGV[7]) or 0)
    outcome = 'pending'
    if record.answered >= round then
      record.rounds = record.rounds + 1
      if record.correct >= tonumber(policy[2]) * record.answered - 1e-9 then
        record.passed = true
        record.passed_at = now
        outcome = 'passed'
      else
        record.retry_at = now + tonumber(policy[3] or '0')
        record.answered, record.correct = 0, 0
        outcome = 'failed'
      end
    end
    redis.call('HSET', KEYS[8], ARGV[3], cjson.encode(record))
  end
  redis.call('XADD', KEYS[7], '*', 'type', 'gold.answered', 'assignment', ARGV[2],
    'task', rec.task, 'volunteer', ARGV[3], 'submission', ARGV[4], 'score', ARGV[6],
    'correct', ARGV[7], 'qualification', outcome, 'at', now, 'request_id', ARGV[8] or '')
  return {'ok', 0, 0, 'gold'}
end
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
  'answers', task.answers, 'need', task.need, 'at', now, 'request_id', ARGV[8] or '')
return {'ok', task.answers, task.need, task.state}
