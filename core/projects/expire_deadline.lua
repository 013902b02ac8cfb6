-- expire_deadline.lua: close a project whose deadline has passed and expire its unfinished tasks
-- (bounded batch, idempotent).
--
-- KEYS[1] P:project  hash   reads state, deadline_ms, task_seq, expire_seq, redundancy; writes
--                           state 'closed', closed_at, doc_rev + 1 (when it closes: an edit read
--                           before the close is then refused as stale, see update_project.lua),
--                           expire_seq (the sweep's cursor), counts
-- KEYS[2] P:tasks    hash   task records (state expired; live - 1 for each lease ended)
-- KEYS[3] P:ready    zset   expired tasks leave it
-- KEYS[4] P:asg      hash   assignment records of live leases (state expired, why deadline)
-- KEYS[5] P:leases   zset   live leases of the project are removed
-- KEYS[6] P:events   stream project.closed (once), assignments.ended and tasks.expired (at most
--                           one of each per call, listing the ids)
-- KEYS[7] P:unclaimed zset  expired tasks leave it too
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] batch limit: most leases and tasks looked at in this call
--
-- Nothing happens before the deadline (now < deadline_ms) or for a project without one. From
-- the deadline on, each call does the next bounded part of the work, in this order:
--   1. the project is marked closed (claims and new tasks are refused from the deadline anyway:
--      claim.lua and create_tasks.lua read deadline_ms themselves);
--   2. live leases end (state expired, why 'deadline'): the deadline is the NGO's cut-off, and
--      a lease left running could later turn an expired task back into an aggregating one;
--   3. once no lease is left, the tasks are visited in creation order (ids t<seq>, cursor in
--      expire_seq): open, collecting and stalled ones become 'expired' (terminal) and leave the
--      ready set; aggregating, in_review, resolved, rejected and expired ones are left as they
--      are (their answers are in: a result can still come out of them);
--   4. after that pass, any task found back in the ready set (sent back for more answers by a
--      worker or a reviewer after the pass) expires too.
-- Every step moves state forward only, so two sweepers at once, or a call repeated, cannot
-- expire a task twice; a call with nothing left to do writes nothing.
--
-- Reply: {'open'}                           no deadline, not reached yet, or no such project (an
--                                           indexed project without keys): nothing written
--     or {'closed', newly closed (0/1), more work left (0/1),
--         {assignment id, volunteer id, ...} of the leases ended, {task id, ...} expired}

local now = now_ms(ARGV[1])
local budget = tonumber(ARGV[2])
local project = redis.call('HMGET', KEYS[1], 'state', 'deadline_ms', 'task_seq', 'expire_seq',
  'redundancy')
local deadline = tonumber(project[2] or '')
if not project[5] or not deadline or now < deadline then
  return {'open'}
end

local newly_closed = 0
if project[1] ~= 'closed' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'closed_at', now)
  redis.call('HINCRBY', KEYS[1], 'doc_rev', 1)
  redis.call('XADD', KEYS[6], '*', 'type', 'project.closed', 'reason', 'deadline',
    'deadline', deadline, 'at', now)
  newly_closed = 1
end

local function expirable(task)
  return task.state == 'open' or task.state == 'collecting' or task.state == 'stalled'
end

local expired = {}
local function expire(task_id, task)
  set_state(KEYS[1], task, 'expired')
  task.expired = now
  redis.call('HSET', KEYS[2], task_id, cjson.encode(task))
  redis.call('ZREM', KEYS[3], task_id)
  redis.call('ZREM', KEYS[7], task_id)
  expired[#expired + 1] = task_id
end

-- 2. live leases
local ended, ended_ids = {}, {}
for _, assignment_id in ipairs(redis.call('ZRANGE', KEYS[5], 0, budget - 1)) do
  budget = budget - 1
  redis.call('ZREM', KEYS[5], assignment_id)
  local rec = load_json(KEYS[4], assignment_id)
  if rec and rec.state == 'live' then
    rec.state = 'expired'
    rec.ended = now
    rec.why = 'deadline'
    redis.call('HSET', KEYS[4], assignment_id, cjson.encode(rec))
    local task = cjson.decode(redis.call('HGET', KEYS[2], rec.task))
    task.live = task.live - 1
    redis.call('HSET', KEYS[2], rec.task, cjson.encode(task))
    ended[#ended + 1] = assignment_id
    ended[#ended + 1] = rec.vol
    ended_ids[#ended_ids + 1] = assignment_id
  end
end
local leases_left = redis.call('ZCARD', KEYS[5])

-- 3. the pass over every task, in creation order
local seq = tonumber(project[3] or '0')
local start = tonumber(project[4] or '0')
local cursor = start
if leases_left == 0 then
  while budget > 0 and cursor < seq do
    cursor = cursor + 1
    budget = budget - 1
    local task_id = string.format('t%010d', cursor)
    local raw = redis.call('HGET', KEYS[2], task_id)
    if raw then
      local task = cjson.decode(raw)
      if expirable(task) then
        expire(task_id, task)
      end
    end
  end
  if cursor ~= start then
    redis.call('HSET', KEYS[1], 'expire_seq', cursor)
  end
end

-- 4. tasks back in the ready set after the pass
local ready_left = redis.call('ZCARD', KEYS[3])
if leases_left == 0 and cursor >= seq and budget > 0 and ready_left > 0 then
  for _, task_id in ipairs(redis.call('ZRANGE', KEYS[3], 0, budget - 1)) do
    local task = cjson.decode(redis.call('HGET', KEYS[2], task_id))
    if expirable(task) then
      expire(task_id, task)
    else
      redis.call('ZREM', KEYS[3], task_id)  -- not claimable any more: the set stays exact
    end
  end
  ready_left = redis.call('ZCARD', KEYS[3])
end

if #ended_ids > 0 then
  redis.call('XADD', KEYS[6], '*', 'type', 'assignments.ended', 'reason', 'deadline',
    'count', #ended_ids, 'assignments', table.concat(ended_ids, ','), 'at', now)
end
if #expired > 0 then
  redis.call('XADD', KEYS[6], '*', 'type', 'tasks.expired', 'reason', 'deadline',
    'count', #expired, 'tasks', table.concat(expired, ','), 'at', now)
end
local more = 0
if leases_left > 0 or cursor < seq or ready_left > 0 then
  more = 1
end
return {'closed', newly_closed, more, ended, expired}
