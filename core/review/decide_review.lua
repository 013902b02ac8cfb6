-- decide_review.lua: a reviewer's decision on the item they hold: accept, correct, reopen, reject.
--
-- KEYS[1] P:project        hash   per-state counts
-- KEYS[2] P:tasks          hash   the task's record (new state; need and attempts on reopen)
-- KEYS[3] P:ready          zset   a reopened task becomes claimable again
-- KEYS[4] P:review_asg     hash   the review lease record (state decided)
-- KEYS[5] P:review_leases  zset   the lease is removed
-- KEYS[6] P:answers        hash   reads the task's answers (accept must name one of them)
-- KEYS[7] P:decisions      hash   task id -> the decision (JSON)
-- KEYS[8] P:events         stream review.decided
-- KEYS[9] P:reviewers      set    the reviewer must still be a member (rights withdrawn: refused)
-- KEYS[10] P:provisional   hash   the task's provisional answer goes (core.quality.provisional)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] review id
-- ARGV[3] reviewer id (must hold the review lease)
-- ARGV[4] action: accept | correct | reopen | reject
-- ARGV[5] submission id accepted ("" unless accept)
-- ARGV[6] the decision: a JSON object starting with '{' (action, submission_id, answer,
--         reviewer, comment); the script adds "at", "task" and "review" without re-encoding it,
--         so the answer keeps its exact bytes (the caller validated a correction beforehand)
-- ARGV[7] most answers the project allows a task (its max_redundancy), or 0 for no ceiling
-- ARGV[8] the id of the HTTP request deciding it ("" for none), copied into the event so the
--         actors handling it log under the same id
--
-- accept / correct: the task is resolved with the decision's answer. reject: the task is
-- rejected (terminal, no result). reopen: the task goes back to collecting with every answer
-- kept and one more answer wanted than it holds (need = max(need, answers + 1)); its expired
-- lease count restarts, so a stalled task is served again. A reopen that would ask for more
-- answers than the project's ceiling is refused ('need_cap').
--
-- Reply: {'ok', task state, need}
--     or {'err', 'no_review' | 'review_expired' | 'review_decided' | 'review_revoked' |
--         'not_reviewer' | 'not_candidate' | 'task_closed' | 'need_cap' | 'bad_action', detail}
--
-- Withdrawing review rights ends the leases held (revoke_reviewer.lua: 'review_revoked'); the
-- membership check below also refuses a reviewer whose rights went some other way.

local now = now_ms(ARGV[1])
local review_id, reviewer, action = ARGV[2], ARGV[3], ARGV[4]
local rec = load_json(KEYS[4], review_id)
-- Someone else's review is reported exactly like an unknown one: no existence leak.
if rec == nil or rec.vol ~= reviewer then
  return {'err', 'no_review', ''}
end
if rec.state ~= 'live' then
  return {'err', 'review_' .. rec.state, rec.state}
end
if now >= rec.expires then
  return {'err', 'review_expired', 'expired'}
end
if redis.call('SISMEMBER', KEYS[9], reviewer) == 0 then
  return {'err', 'not_reviewer', ''}
end
local task = cjson.decode(redis.call('HGET', KEYS[2], rec.task))
if task.state ~= 'in_review' then
  return {'err', 'task_closed', task.state}
end
if action == 'accept' then
  local found = false
  for _, entry in ipairs(load_json(KEYS[6], rec.task) or {}) do
    if entry.submission_id == ARGV[5] then
      found = true
      break
    end
  end
  if not found then
    return {'err', 'not_candidate', ''}
  end
elseif action == 'reopen' then
  local ceiling = tonumber(ARGV[7])
  if ceiling > 0 and task.answers + 1 > ceiling then
    return {'err', 'need_cap', ceiling}
  end
elseif action ~= 'correct' and action ~= 'reject' then
  return {'err', 'bad_action', action}
end

rec.state = 'decided'
rec.ended = now
rec.action = action
redis.call('HSET', KEYS[4], review_id, cjson.encode(rec))
redis.call('ZREM', KEYS[5], review_id)

if action == 'accept' or action == 'correct' then
  set_state(KEYS[1], task, 'resolved')
elseif action == 'reject' then
  set_state(KEYS[1], task, 'rejected')
else
  task.need = math.max(task.need, task.answers + 1)
  task.attempts = 0
  if task.live + task.answers > 0 then
    set_state(KEYS[1], task, 'collecting')
  else
    set_state(KEYS[1], task, 'open')
  end
end
redis.call('HSET', KEYS[2], rec.task, cjson.encode(task))
refresh_ready(KEYS[3], rec.task, task)
redis.call('HDEL', KEYS[10], rec.task)

local decision = '{"at":' .. string.format('%d', now) .. ',"task":"' .. rec.task ..
  '","review":"' .. review_id .. '",' .. string.sub(ARGV[6], 2)
redis.call('HSET', KEYS[7], rec.task, decision)
redis.call('XADD', KEYS[8], '*', 'type', 'review.decided', 'review', review_id, 'task', rec.task,
  'reviewer', reviewer, 'action', action, 'submission', ARGV[5], 'state', task.state, 'at', now,
  'request_id', ARGV[8] or '')
return {'ok', task.state, task.need}
