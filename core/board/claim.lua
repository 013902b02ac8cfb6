-- claim.lua: lease one answer slot of the best claimable task to a volunteer.
--
-- KEYS[1] P:project         hash   reads state, lease_ms, max_lease_ms, deadline_ms, the gold
--                                  and qualification policy (gold_*, qual_tasks), max_per_vol;
--                                  bumps per-state counts
-- KEYS[2] P:tasks           hash   the chosen task's record (live + 1)
-- KEYS[3] P:ready           zset   scanned best first; the task's score or membership updated
-- KEYS[4] P:asg             hash   the new assignment record
-- KEYS[5] P:leases          zset   the new lease's expiry
-- KEYS[6] P:touched:<vol>   set    tasks this volunteer already claimed (skipped; then added)
-- KEYS[7] P:payloads        hash   reads the chosen task's payload
-- KEYS[8] P:events          stream assignment.claimed
-- KEYS[9] P:gold_pool       zset   gold task ids (score 0, so in id order)
-- KEYS[10] P:qual           hash   reads the volunteer's qualification record (JSON)
-- KEYS[11] P:unclaimed      zset   ready tasks nobody claimed yet, best first: looked at when the
--                                  scan of P:ready finds nothing; the chosen task leaves it
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] volunteer id
-- ARGV[3] project id (the assignment id is "<project>.<task>.<token>")
-- ARGV[4] token: random part of the assignment id (the fencing token)
-- ARGV[5] scan limit: most ready tasks looked at before giving up
-- ARGV[6] a uniform draw in [0, 1) made by the caller: whether this claim serves a gold task
-- ARGV[7] another: where in the gold pool to start looking
--
-- Which task: the best one of the ready set this volunteer never claimed (their touched set),
-- looking at most ARGV[5] of its best entries. Tasks the volunteer released, or answered while
-- more answers are wanted, stay near the head of the shared queue (served first to everyone
-- else), so after enough of them that scan can find nothing; the best task of P:unclaimed, which
-- nobody ever claimed and so neither did this volunteer, is served instead. A volunteer is told
-- 'nothing_fits' only when every unclaimed task is gone too and their own history fills the
-- head of the queue (then the tasks left are all ones others are working through).
--
-- Gold (control) tasks are served at a rate that decays with the volunteer's experience in the
-- project (tasks they claimed here, the size of KEYS[6]): gold_start up to gold_warmup tasks,
-- then linearly down to gold_end at gold_settle tasks (project hash fields). A project with
-- qual_tasks > 0 serves a volunteer nothing but gold until their record says they passed; after
-- a failed round, nothing at all until its retry_at. A gold task is leased like any other (same
-- reply, same records); it just never enters the ready set, the state counts or the results.
--
-- The project's max_per_vol (0 or absent: none) caps the tasks one volunteer claims in it, the
-- size of KEYS[6] (released tasks count: each claim showed a payload): past it, 'volunteer_cap'.
--
-- Reply: {'ok', assignment id, task id, expires at (ms), payload JSON, 1 for a gold task else 0}
--     or {'empty', reason}  with reason 'paused', 'closed' (closed, or past its deadline),
--                           'cooldown' (a failed qualification round), 'volunteer_cap' or
--                           'nothing_fits'
--     or {'err', 'no_project', ''}

-- project: the HMGET below; its fields 5 to 8 are the gold schedule.
local function gold_rate(project, touched_key)
  local start_rate, end_rate = tonumber(project[5] or '') or 0, tonumber(project[6] or '') or 0
  if start_rate <= 0 and end_rate <= 0 then
    return 0
  end
  local warmup, settle = tonumber(project[7] or '') or 0, tonumber(project[8] or '') or 0
  local seen = redis.call('SCARD', touched_key)
  if seen < warmup then
    return start_rate
  end
  if seen >= settle or settle <= warmup then
    return end_rate
  end
  return start_rate + (end_rate - start_rate) * (seen - warmup) / (settle - warmup)
end

-- The first gold task of the pool this volunteer never claimed, looking at most `limit` of
-- them from a random place (so volunteers do not all meet the same ones first).
local function pick_gold(pool_key, touched_key, draw, limit)
  local n = redis.call('ZCARD', pool_key)
  local budget = math.min(n, limit)
  local start = math.floor(draw * n)
  local looked = 0
  while looked < budget do
    local from = (start + looked) % n
    local ids = redis.call('ZRANGE', pool_key, from, math.min(from + 63, n - 1))
    for _, task_id in ipairs(ids) do
      if redis.call('SISMEMBER', touched_key, task_id) == 0 then
        return task_id
      end
      looked = looked + 1
      if looked >= budget then
        break
      end
    end
  end
  return nil
end

local now = now_ms(ARGV[1])
local volunteer_id = ARGV[2]
local project = redis.call('HMGET', KEYS[1], 'state', 'lease_ms', 'max_lease_ms', 'deadline_ms',
  'gold_start', 'gold_end', 'gold_warmup', 'gold_settle', 'qual_tasks', 'max_per_vol')
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
local per_volunteer = tonumber(project[10] or '') or 0
if per_volunteer > 0 and redis.call('SCARD', KEYS[6]) >= per_volunteer then
  return {'empty', 'volunteer_cap'}
end
local lease_ms = tonumber(project[2])
local max_lease_ms = tonumber(project[3])
local limit = tonumber(ARGV[5])

local gold_only = false
if (tonumber(project[9] or '') or 0) > 0 then
  local qualification = load_json(KEYS[10], volunteer_id)
  if not (qualification and qualification.passed) then
    if qualification and qualification.retry_at and now < qualification.retry_at then
      return {'empty', 'cooldown'}
    end
    gold_only = true
  end
end
local chosen = nil
if gold_only or tonumber(ARGV[6]) < gold_rate(project, KEYS[6]) then
  chosen = pick_gold(KEYS[9], KEYS[6], tonumber(ARGV[7]), limit)
  if not chosen and gold_only then
    return {'empty', 'nothing_fits'}
  end
end
local gold = chosen and 1 or 0

-- Bounded scan, in pages, so a volunteer who touched the head of the queue still finds work
-- further down without a claim ever costing more than `limit` membership checks (one
-- SMISMEMBER a page).
-- Pages start small (most claims take the head of the queue) and double.
local page = 4
local offset = 0
while offset < limit and not chosen do
  local ids = redis.call('ZRANGE', KEYS[3], offset, math.min(offset + page, limit) - 1)
  if #ids == 0 then
    break
  end
  local seen = redis.call('SMISMEMBER', KEYS[6], unpack(ids))
  for i, task_id in ipairs(ids) do
    if seen[i] == 0 then
      chosen = task_id
      break
    end
  end
  offset = offset + page
  page = math.min(page * 2, 64)
end
-- Past the head: the best task nobody claimed yet. Entries of tasks that left the ready set
-- otherwise (a deadline expired them) are dropped on the way, a bounded number per claim.
local stale = 0
while not chosen and stale < 64 do
  local head = redis.call('ZRANGE', KEYS[11], 0, 0)
  if #head == 0 then
    break
  end
  if not redis.call('ZSCORE', KEYS[3], head[1]) then
    redis.call('ZREM', KEYS[11], head[1])
    stale = stale + 1
  elseif redis.call('SISMEMBER', KEYS[6], head[1]) == 0 then
    chosen = head[1]
  else
    break  -- not reached: a task leaves P:unclaimed when first claimed
  end
end
if not chosen then
  return {'empty', 'nothing_fits'}
end

local task = cjson.decode(redis.call('HGET', KEYS[2], chosen))
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
redis.call('ZREM', KEYS[11], chosen)
redis.call('XADD', KEYS[8], '*', 'type', 'assignment.claimed', 'assignment', assignment_id,
  'task', chosen, 'volunteer', volunteer_id, 'at', now)
return {'ok', assignment_id, chosen, expires, redis.call('HGET', KEYS[7], chosen), gold}
