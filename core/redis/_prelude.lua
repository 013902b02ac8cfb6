-- _prelude.lua: helpers shared by every board script (prepended at load time).
--
-- Touches no key by itself: each helper writes only keys its caller passes in and declares in
-- its own KEYS header.
--
-- Task record (JSON in P:tasks): state, need (answers wanted), live (live leases), answers
-- (submitted), attempts (expired leases), releases, priority, ext (external id), created (ms).
-- Task states: open (nothing live, nothing answered), collecting, aggregating (all answers in),
-- stalled (leases kept expiring; no longer served).

local function now_ms(arg)
  if arg ~= nil and arg ~= '' then
    return tonumber(arg)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Ready-set score, lowest first: higher priority first, then the task closest to completion
-- (most slots taken); ties fall back to the task id, i.e. first come, first served.
local function ready_score(task)
  return -(task.priority * 1000 + task.live + task.answers)
end

local function is_collectable(task)
  return task.state == 'open' or task.state == 'collecting'
end

-- Keep the ready set exact: a task is in it iff it can take one more volunteer.
local function refresh_ready(ready_key, task_id, task)
  if is_collectable(task) and task.live + task.answers < task.need then
    redis.call('ZADD', ready_key, ready_score(task), task_id)
  else
    redis.call('ZREM', ready_key, task_id)
  end
end

-- Move a task to a new state, keeping the per-state counters of the project hash in step.
local function set_state(project_key, task, new_state)
  if task.state ~= new_state then
    redis.call('HINCRBY', project_key, 'count:' .. task.state, -1)
    redis.call('HINCRBY', project_key, 'count:' .. new_state, 1)
    task.state = new_state
  end
end

-- open <-> collecting follow the activity on the task; other states are left alone.
local function settle_collecting_state(project_key, task)
  if is_collectable(task) then
    if task.live + task.answers > 0 then
      set_state(project_key, task, 'collecting')
    else
      set_state(project_key, task, 'open')
    end
  end
end

local function load_json(hash_key, field)
  local raw = redis.call('HGET', hash_key, field)
  if not raw then
    return nil
  end
  return cjson.decode(raw)
end

-- Shared refusals for an assignment id presented by a volunteer. Returns the record, or nil and
-- the error reply. Reads only; a refused call writes nothing.
local function live_assignment(asg_key, assignment_id, volunteer_id, now)
  local rec = load_json(asg_key, assignment_id)
  -- Someone else's assignment is reported exactly like an unknown one: no existence leak.
  if rec == nil or rec.vol ~= volunteer_id then
    return nil, {'err', 'no_assignment', ''}
  end
  if rec.state ~= 'live' then
    return nil, {'err', 'lease_' .. rec.state, rec.state}
  end
  if now >= rec.expires then
    return nil, {'err', 'lease_expired', 'expired'}
  end
  return rec, nil
end

-- Append a decided result to the results feed, once per decision id (publish_result.lua,
-- resolve_task.lua). Writes results_key (the entry), published_key (decision id -> entry id)
-- and events_key (result.published, the outbox of webhook delivery). ``extra`` holds more
-- field, value pairs (answer, confidence, method, contributors). Returns the entry id and 1,
-- or the first publication's entry id and 0 when this decision was published before.
local function append_result(results_key, published_key, events_key, now, decision_id, decided,
    task_id, ext, extra)
  local existing = redis.call('HGET', published_key, decision_id)
  if existing then
    return existing, 0
  end
  local fields = {'decision_id', decision_id, 'decided_at', decided, 'task_id', task_id,
    'external_id', ext}
  for i = 1, #extra do
    fields[#fields + 1] = extra[i]
  end
  local id = redis.call('XADD', results_key, '*', unpack(fields))
  redis.call('HSET', published_key, decision_id, id)
  redis.call('XADD', events_key, '*', 'type', 'result.published', 'task', task_id, 'result', id,
    'at', now)
  return id, 1
end

-- Once a day at most (the last time is kept in the hash's field stamp_field), delete the fields
-- of a hash of applied-event markers that written_at(name, value) dates (ms; nil: not a dated
-- field) more than `retention` ms back: replays that old no longer come, so their markers (and
-- what goes with them) need not stay (record_stats.lua, apply_reputation.lua).
local function prune_old_fields(hash_key, stamp_field, now, retention, written_at)
  local pruned = tonumber(redis.call('HGET', hash_key, stamp_field) or '0')
  if now - pruned < 86400000 then
    return
  end
  local all = redis.call('HGETALL', hash_key)
  for i = 1, #all, 2 do
    local at = written_at(all[i], all[i + 1])
    if at and now - at > retention then
      redis.call('HDEL', hash_key, all[i])
    end
  end
  redis.call('HSET', hash_key, stamp_field, now)
end
