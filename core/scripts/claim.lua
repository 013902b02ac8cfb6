-- claim.lua: lease one answer slot of the best claimable task to a volunteer.
--
-- KEYS[1] P:project         hash   reads state, lease_ms, max_lease_ms, deadline_ms; bumps
--                                  per-state counts
-- KEYS[2] P:tasks           hash   the chosen task's record (live + 1)
-- KEYS[3] P:ready           zset   scanned best first; the task's score or membership updated
-- KEYS[4] P:asg             hash   the new assignment record
-- KEYS[5] P:leases          zset   the new lease's expiry
-- KEYS[6] P:touched:<vol>   set    tasks this volunteer already claimed (skipped; then added)
-- KEYS[7] P:payloads        hash   reads the chosen task's payload
-- KEYS[8] P:events          stream assignment.claimed
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] volunteer id
-- ARGV[3] project id (the assignment id is "<project>.<task>.<token>")
-- ARGV[4] token: random part of the assignment id (the fencing token)
-- ARGV[5] scan limit: most ready tasks looked at before giving up
--
-- Reply: {'ok', assignment id, task id, expires at (ms), payload JSON}
--     or {'empty', reason}  with reason 'paused', 'closed' (closed, or past its deadline) or
--                           'nothing_fits'
--     or {'err', 'no_project', ''}

local now = now_ms(ARGV[1])
local volunteer_id = ARGV[2]
local project = redis.call('HMGET', KEYS[1], 'state', 'lease_ms', 'max_lease_ms', 'deadline_ms')
if not project[2] then
  return {'err', 'no_project', ''}
end
if project[1] == 'paused' then
  return {'empty', 'paused'}
end
local deadline = tonumber(project[4] or '')
if project[1] == 'closed' or (deadline and now >= deadline) then
  return {'empty', 'closed'}
end
local lease_ms = tonumber(project[2])
local max_lease_ms = tonumber(project[3])

-- Bounded scan, in pages, so a volunteer who touched the head of the queue still finds work
-- further down without a claim ever costing more than `limit` membership checks.
-- Pages start small (most claims take the head of the queue) and double.
local limit = tonumber(ARGV[5])
local page = 4
local offset = 0
local chosen, task = nil, nil
while offset < limit and not chosen do
  local ids = redis.call('ZRANGE', KEYS[3], offset, math.min(offset + page, limit) - 1)
  if #ids == 0 then
    break
  end
  for _, task_id in ipairs(ids) do
    if redis.call('SISMEMBER', KEYS[6], task_id) == 0 then
      chosen = task_id
      break
    end
  end
  offset = offset + page
  page = math.min(page * 2, 64)
end
if not chosen then
  return {'empty', 'nothing_fits'}
end

task = cjson.decode(redis.call('HGET', KEYS[2], chosen))
task.live = task.live + 1
settle_collecting_state(KEYS[1], task)
redis.call('HSET', KEYS[2], chosen, cjson.encode(task))
refresh_ready(KEYS[3], chosen, task)

local assignment_id = ARGV[3] .. '.' .. chosen .. '.' .. ARGV[4]
local expires = now + lease_ms
local record = {
  task = chosen, vol = volunteer_id, state = 'live',
  claimed = now, expires = expires, cap = now + max_lease_ms,
}
redis.call('HSET', KEYS[4], assignment_id, cjson.encode(record))
redis.call('ZADD', KEYS[5], expires, assignment_id)
redis.call('SADD', KEYS[6], chosen)
redis.call('XADD', KEYS[8], '*', 'type', 'assignment.claimed', 'assignment', assignment_id,
  'task', chosen, 'volunteer', volunteer_id, 'at', now)
return {'ok', assignment_id, chosen, expires, redis.call('HGET', KEYS[7], chosen)}
