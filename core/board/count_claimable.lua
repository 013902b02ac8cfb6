-- count_claimable.lua: whether a claim of this project would give this volunteer a task now,
-- and about how many tasks are left for them (reads only; for "Find work").
--
-- KEYS[1] P:project         hash   reads state, deadline_ms, qual_tasks, max_per_vol
-- KEYS[2] P:ready           zset   scanned best first, as claim.lua scans it
-- KEYS[3] P:touched:<vol>   set    tasks this volunteer already claimed (never served again)
-- KEYS[4] P:gold_pool       zset   gold task ids: practice items of a qualification
-- KEYS[5] P:qual            hash   reads the volunteer's qualification record (JSON)
-- KEYS[6] P:unclaimed       zset   ready tasks nobody claimed yet, best first
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] volunteer id
-- ARGV[3] scan limit: the same bound as claim.lua's (the board's claim_scan_limit)
--
-- The decisions of claim.lua, without its writes and without its random gold draw: a project
-- that serves this volunteer nothing but practice items counts when a gold task they never
-- claimed is within the bound; otherwise only real tasks count (a gold task served by chance is
-- a bonus, never a promise). So when this says 'yes', "Start" gives a task (unless others take
-- the last ones meanwhile). The scan reads at most ARGV[3] entries of the ready set, in pages
-- (one SMISMEMBER a page), and at most 64 of P:unclaimed.
--
-- Reply: {'yes', tasks left for the volunteer}
--     or {'no', reason}  with reason 'no_project', 'paused', 'closed', 'volunteer_cap',
--                        'cooldown' or 'nothing_fits'
-- "Tasks left": the ready tasks less those of them this volunteer claimed, counted exactly when
-- the ready set fits in the bound, else less only those found in the bound (an upper bound).

local now = now_ms(ARGV[1])
local volunteer_id = ARGV[2]
local limit = tonumber(ARGV[3])
local project = redis.call('HMGET', KEYS[1], 'state', 'lease_ms', 'deadline_ms', 'qual_tasks',
  'max_per_vol')
if not project[2] then
  return {'no', 'no_project'}
end
if project[1] == 'paused' then
  return {'no', 'paused'}
end
local deadline = tonumber(project[3] or '')
if project[1] == 'closed' or (deadline and now >= deadline) then
  return {'no', 'closed'}
end
local per_volunteer = tonumber(project[5] or '') or 0
if per_volunteer > 0 and redis.call('SCARD', KEYS[3]) >= per_volunteer then
  return {'no', 'volunteer_cap'}
end

-- The ready set's head: untouched tasks within the bound, and how many touched ones it holds.
local free, seen_there = 0, 0
local page = 64
local offset = 0
while offset < limit do
  local ids = redis.call('ZRANGE', KEYS[2], offset, math.min(offset + page, limit) - 1)
  if #ids == 0 then
    break
  end
  local seen = redis.call('SMISMEMBER', KEYS[3], unpack(ids))
  for i = 1, #ids do
    if seen[i] == 0 then
      free = free + 1
    else
      seen_there = seen_there + 1
    end
  end
  offset = offset + page
end
local left = redis.call('ZCARD', KEYS[2]) - seen_there

if (tonumber(project[4] or '') or 0) > 0 then
  local qualification = load_json(KEYS[5], volunteer_id)
  if not (qualification and qualification.passed) then
    if qualification and qualification.retry_at and now < qualification.retry_at then
      return {'no', 'cooldown'}
    end
    -- Practice first: only gold tasks are served until the volunteer passes.
    local golds = redis.call('ZRANGE', KEYS[4], 0, limit - 1)
    if #golds > 0 then
      local seen = redis.call('SMISMEMBER', KEYS[3], unpack(golds))
      for i = 1, #golds do
        if seen[i] == 0 then
          return {'yes', math.max(left, 0)}
        end
      end
    end
    return {'no', 'nothing_fits'}
  end
end

if free > 0 then
  return {'yes', left}
end
-- Past the head: claim.lua serves the best task nobody claimed yet (stale entries skipped).
local heads = redis.call('ZRANGE', KEYS[6], 0, 63)
for _, task_id in ipairs(heads) do
  if redis.call('ZSCORE', KEYS[2], task_id) then
    if redis.call('SISMEMBER', KEYS[3], task_id) == 0 then
      return {'yes', math.max(left, 1)}
    end
    break
  end
end
return {'no', 'nothing_fits'}
