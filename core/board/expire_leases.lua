-- expire_leases.lua: return the slots of leases whose time is up (bounded batch, idempotent).
--
-- KEYS[1] P:project  hash   reads max_attempts; per-state counts
-- KEYS[2] P:tasks    hash   each task's record (live - 1, attempts + 1, maybe stalled)
-- KEYS[3] P:ready    zset   tasks become claimable again (or leave it when stalled)
-- KEYS[4] P:asg      hash   assignment records (state expired)
-- KEYS[5] P:leases   zset   expired leases are removed
-- KEYS[6] P:events   stream assignment.expired, task.stalled
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] batch limit
--
-- A lease is alive while now < expires. Each expired lease returns its slot exactly once: the
-- record's state moves from live to expired here and nowhere else, and a second sweep finds
-- nothing to do. A task whose leases expired max_attempts times (0 = never) is flagged
-- 'stalled' instead of cycling forever.
--
-- Reply: {expired assignment id...}

local now = now_ms(ARGV[1])
local max_attempts = tonumber(redis.call('HGET', KEYS[1], 'max_attempts') or '0')
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local expired = {}
for _, assignment_id in ipairs(due) do
  redis.call('ZREM', KEYS[5], assignment_id)
  local rec = load_json(KEYS[4], assignment_id)
  if rec and rec.state == 'live' then
    rec.state = 'expired'
    rec.ended = now
    redis.call('HSET', KEYS[4], assignment_id, cjson.encode(rec))
    local task = cjson.decode(redis.call('HGET', KEYS[2], rec.task))
    task.live = task.live - 1
    task.attempts = task.attempts + 1
    redis.call('XADD', KEYS[6], '*', 'type', 'assignment.expired', 'assignment', assignment_id,
      'task', rec.task, 'volunteer', rec.vol, 'at', now)
    if max_attempts > 0 and task.attempts >= max_attempts and is_collectable(task) then
      set_state(KEYS[1], task, 'stalled')
      redis.call('XADD', KEYS[6], '*', 'type', 'task.stalled', 'task', rec.task,
        'attempts', task.attempts, 'at', now)
    else
      settle_collecting_state(KEYS[1], task)
    end
    redis.call('HSET', KEYS[2], rec.task, cjson.encode(task))
    refresh_ready(KEYS[3], rec.task, task)
    expired[#expired + 1] = assignment_id
  end
end
return expired
