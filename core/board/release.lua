-- release.lua: a volunteer gives a live lease back (skips the task), with a reason.
--
-- KEYS[1] P:project  hash   per-state counts
-- KEYS[2] P:tasks    hash   the task's record (live - 1, releases + 1)
-- KEYS[3] P:ready    zset   the task becomes claimable again
-- KEYS[4] P:asg      hash   the assignment record (state released)
-- KEYS[5] P:leases   zset   the lease is removed
-- KEYS[6] P:events   stream assignment.released
-- KEYS[7] P:touched:<vol> set  the task leaves it when ARGV[5] is '1'
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] assignment id
-- ARGV[3] volunteer id (must own the assignment)
-- ARGV[4] reason (free text, bounded by the caller)
-- ARGV[5] '1': the volunteer never saw the task (a claim handed back by the API itself, e.g.
--         over their live-assignment cap), so it may be served to them again; '0' otherwise
-- ARGV[6] ARGV[7] (only when ARGV[2] is ''): the project id and the token a claim of this
--         volunteer was sent with whose reply was lost (a connection cut after Redis ran it, a
--         master dying): the lease it took, if any, is looked for among the tasks the volunteer
--         claimed (KEYS[7]; assignment ids are "<project>.<task>.<token>"). A rare path, so the
--         scan of that set is fine; nothing found is 'no_assignment'
--
-- Reply: {'ok', assignment id}
--     or {'err', 'no_assignment' | 'lease_expired' | 'lease_released' | 'lease_submitted', state}

local now = now_ms(ARGV[1])
local assignment_id = ARGV[2]
if assignment_id == '' then
  assignment_id = nil
  for _, task_id in ipairs(redis.call('SMEMBERS', KEYS[7])) do
    local candidate = ARGV[6] .. '.' .. task_id .. '.' .. ARGV[7]
    if redis.call('HEXISTS', KEYS[4], candidate) == 1 then
      assignment_id = candidate
      break
    end
  end
  if not assignment_id then
    return {'err', 'no_assignment', ''}
  end
end
local rec, refusal = live_assignment(KEYS[4], assignment_id, ARGV[3], now)
if not rec then
  return refusal
end
rec.state = 'released'
rec.ended = now
rec.reason = ARGV[4]
redis.call('HSET', KEYS[4], assignment_id, cjson.encode(rec))
redis.call('ZREM', KEYS[5], assignment_id)
if ARGV[5] == '1' then
  redis.call('SREM', KEYS[7], rec.task)
end

local task = cjson.decode(redis.call('HGET', KEYS[2], rec.task))
task.live = task.live - 1
task.releases = task.releases + 1
settle_collecting_state(KEYS[1], task)
redis.call('HSET', KEYS[2], rec.task, cjson.encode(task))
refresh_ready(KEYS[3], rec.task, task)
redis.call('XADD', KEYS[6], '*', 'type', 'assignment.released', 'assignment', assignment_id,
  'task', rec.task, 'volunteer', ARGV[3], 'reason', ARGV[4], 'at', now)
return {'ok', assignment_id}
