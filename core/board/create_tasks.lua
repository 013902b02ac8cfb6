-- create_tasks.lua: add a batch of tasks to a project, idempotent on external id.
--
-- KEYS[1] P:project   hash   reads redundancy, state and deadline_ms, bumps task_seq,
--                            count:open and payload_bytes (the payload JSON held: the quota)
-- KEYS[2] P:tasks     hash   new task records
-- KEYS[3] P:payloads  hash   new payloads
-- KEYS[4] P:ext       hash   external id -> task id (read, then written for new tasks)
-- KEYS[5] P:ready     zset   new tasks become claimable
-- KEYS[6] P:events    stream one tasks.created event per batch
-- KEYS[7] P:gold      hash   gold task id -> its gold answer (JSON: answer, explanation)
-- KEYS[8] P:gold_pool zset   gold task ids, served by claim.lua
-- KEYS[9] P:unclaimed zset   new tasks join it too (claim.lua: nobody claimed them yet)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] n, then n quintuples: external id ("" for none), priority, payload JSON, gold JSON
--         ("" for an ordinary task), payload digest ("" without an external id; kept in the
--         task record as "pd")
-- ARGV[3 + 5n] the id of the HTTP request submitting them ("" for none), copied into the event
-- ARGV[4 + 5n] most new tasks this call may create ("" or absent: no bound; the quota)
-- ARGV[5 + 5n] most payload bytes they may add up to ("" or absent: no bound; the quota)
--
-- A gold task gets a record in state 'gold' (outside the state counts: it is never progress)
-- and joins the gold pool instead of the ready set; gold_tasks counts them.
--
-- Reply: {'ok', entry...} with one entry per input task: "+<task id>" when created,
-- "=<task id>" when the external id already named a task with the same payload digest (or one
-- recorded without a digest), "!<task id>" when it named one with another payload (a
-- conflict), "#" for a new task past ARGV[4 + 5n] or ARGV[5 + 5n] (over the quota); nothing is
-- written for any of these;
-- or {'err', 'no_project', ''}, or {'err', 'project_closed', ''} once the project is closed or
-- past its deadline (its tasks expire: see expire_deadline.lua).

local now = now_ms(ARGV[1])
local project = redis.call('HMGET', KEYS[1], 'redundancy', 'state', 'deadline_ms')
local need = tonumber(project[1])
if not need then
  return {'err', 'no_project', ''}
end
local deadline = tonumber(project[3] or '')
if project[2] == 'closed' or (deadline and now >= deadline) then
  return {'err', 'project_closed', ''}
end

local n = tonumber(ARGV[2])
local max_new = tonumber(ARGV[4 + n * 5] or '')
local max_bytes = tonumber(ARGV[5 + n * 5] or '')
local reply = {'ok'}
local created, golden, first_id, last_id, bytes = 0, 0, nil, nil, 0
for i = 0, n - 1 do
  local ext = ARGV[3 + i * 5]
  local priority = tonumber(ARGV[4 + i * 5])
  local payload = ARGV[5 + i * 5]
  local gold = ARGV[6 + i * 5]
  local digest = ARGV[7 + i * 5]
  local existing = nil
  if ext ~= '' then
    existing = redis.call('HGET', KEYS[4], ext)
  end
  if existing then
    local held = load_json(KEYS[2], existing)
    if held and held.pd and held.pd ~= digest then
      reply[#reply + 1] = '!' .. existing
    else
      reply[#reply + 1] = '=' .. existing
    end
  elseif (max_new and created >= max_new) or (max_bytes and bytes + #payload > max_bytes) then
    reply[#reply + 1] = '#'
  else
    local seq = redis.call('HINCRBY', KEYS[1], 'task_seq', 1)
    local task_id = string.format('t%010d', seq)
    local task = {
      state = 'open', need = need, live = 0, answers = 0, attempts = 0, releases = 0,
      priority = priority, created = now,
    }
    if ext ~= '' then
      task.ext = ext
      task.pd = digest
      redis.call('HSET', KEYS[4], ext, task_id)
    end
    if gold ~= '' then
      task.state, task.need = 'gold', 0
      redis.call('HSET', KEYS[7], task_id, gold)
      redis.call('ZADD', KEYS[8], 0, task_id)
      golden = golden + 1
    else
      redis.call('ZADD', KEYS[5], ready_score(task), task_id)
      redis.call('ZADD', KEYS[9], ready_score(task), task_id)
    end
    redis.call('HSET', KEYS[2], task_id, cjson.encode(task))
    redis.call('HSET', KEYS[3], task_id, payload)
    created = created + 1
    bytes = bytes + #payload
    first_id = first_id or task_id
    last_id = task_id
    reply[#reply + 1] = '+' .. task_id
  end
end

if created > 0 then
  redis.call('HINCRBY', KEYS[1], 'payload_bytes', bytes)
  if created > golden then
    redis.call('HINCRBY', KEYS[1], 'count:open', created - golden)
  end
  if golden > 0 then
    redis.call('HINCRBY', KEYS[1], 'gold_tasks', golden)
  end
  redis.call('XADD', KEYS[6], '*', 'type', 'tasks.created', 'count', created,
    'gold', golden, 'first', first_id, 'last', last_id, 'at', now,
    'request_id', ARGV[3 + n * 5] or '')
end
return reply
