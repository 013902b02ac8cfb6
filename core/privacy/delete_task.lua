-- delete_task.lua: take one task off a project at once (its NGO or the operator deleted it).
--
-- KEYS[1] P:project       hash   per-state counts (count:<state> - 1), or gold_tasks - 1
-- KEYS[2] P:tasks         hash   the task's record goes
-- KEYS[3] P:payloads      hash   its payload goes
-- KEYS[4] P:ext           hash   its external id's entry goes
-- KEYS[5] P:ready         zset   it leaves the claimable set
-- KEYS[6] P:unclaimed     zset   and the never-claimed one
-- KEYS[7] P:gold          hash   its gold answer goes
-- KEYS[8] P:gold_pool     zset   it leaves the gold pool
-- KEYS[9] P:answers       hash   its answers go
-- KEYS[10] P:decisions    hash   its review decision goes
-- KEYS[11] P:review_queue zset   it leaves the review queue
-- KEYS[12] P:asg          hash   live assignments on the task end (state 'deleted')
-- KEYS[13] P:leases       zset   scanned for them (every live lease of the project: one per
--                                volunteer at work, at most), which are removed
-- KEYS[14] P:review_asg   hash   live review leases on the task end (state 'revoked', as when
--                                rights are withdrawn: a decision on them is refused)
-- KEYS[15] P:review_leases zset  likewise
-- KEYS[16] P:provisional  hash   its provisional answer goes (core.quality.provisional)
-- ARGV[1] task id
-- ARGV[2] project id (assignment ids start with "<project>.<task>.")
--
-- What stays for the background job (core.privacy.tasks), found through the assignment and
-- review records it leaves here: leases on the task, results and events naming it, and what
-- volunteers' own keys hold about it. A worker acting on the task afterwards finds no record
-- and does nothing. Safe to repeat: a second call finds no record and only re-removes.
--
-- Ending the live leases here keeps every other script from meeting a lease whose task is gone.
--
-- Reply: {1 the task was there / 0 it was not, then volunteer id, assignment id of each lease
--         ended (the caller frees their live slots)}

local task_id = ARGV[1]
local raw = redis.call('HGET', KEYS[2], task_id)
if raw then
  local task = cjson.decode(raw)
  if task.state == 'gold' then
    redis.call('HINCRBY', KEYS[1], 'gold_tasks', -1)
  else
    redis.call('HINCRBY', KEYS[1], 'count:' .. task.state, -1)
  end
  if task.ext and task.ext ~= '' and task.ext ~= cjson.null then
    if redis.call('HGET', KEYS[4], task.ext) == task_id then
      redis.call('HDEL', KEYS[4], task.ext)
    end
  end
  redis.call('HDEL', KEYS[2], task_id)
end
redis.call('HDEL', KEYS[3], task_id)
redis.call('ZREM', KEYS[5], task_id)
redis.call('ZREM', KEYS[6], task_id)
redis.call('HDEL', KEYS[7], task_id)
redis.call('ZREM', KEYS[8], task_id)
redis.call('HDEL', KEYS[9], task_id)
redis.call('HDEL', KEYS[10], task_id)
redis.call('ZREM', KEYS[11], task_id)
redis.call('HDEL', KEYS[16], task_id)
local ended = {raw and 1 or 0}
local function end_leases(asg_key, leases_key, prefix, ended_state)
  for _, lease_id in ipairs(redis.call('ZRANGE', leases_key, 0, -1)) do
    if string.sub(lease_id, 1, #prefix) == prefix then
      redis.call('ZREM', leases_key, lease_id)
      local rec = load_json(asg_key, lease_id)
      if rec and rec.state == 'live' then
        rec.state = ended_state
        redis.call('HSET', asg_key, lease_id, cjson.encode(rec))
        ended[#ended + 1] = rec.vol
        ended[#ended + 1] = lease_id
      end
    end
  end
end
end_leases(KEYS[12], KEYS[13], ARGV[2] .. '.' .. task_id .. '.', 'deleted')
end_leases(KEYS[14], KEYS[15], ARGV[2] .. '.' .. task_id .. '.r', 'revoked')
return ended
