-- claim_review.lua: lease the best waiting review item to a reviewer who did not answer it.
--
-- KEYS[1] P:reviewers       set    the reviewer must be a member
-- KEYS[2] P:review_queue    zset   scanned best first; the chosen task leaves it
-- KEYS[3] P:review_asg      hash   the new review lease record
-- KEYS[4] P:review_leases   zset   the new lease's expiry
-- KEYS[5] P:touched:<vol>   set    tasks the reviewer once claimed as a volunteer (skipped)
-- KEYS[6] P:answers         hash   each task's answers: one by the reviewer rules it out; the
--                                  chosen task's list is returned as the candidates
-- KEYS[7] P:payloads        hash   reads the chosen task's payload
-- KEYS[8] P:tasks           hash   reads the chosen task's review reason
-- KEYS[9] P:events          stream review.claimed
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] reviewer (volunteer) id
-- ARGV[3] project id (the review id is "<project>.<task>.r<token>")
-- ARGV[4] token: random part of the review id
-- ARGV[5] scan limit: most queued items looked at before giving up
-- ARGV[6] lease length (ms)
-- ARGV[7] most live leases looked at for one the reviewer already holds
--
-- A queued task is in no live review lease: claiming takes it out of the queue, and only the
-- lease's decision or expiry (expire_review_leases.lua) ends that. So each item has at most one
-- live review lease, whatever the number of reviewers racing for it.
--
-- When nothing waits for the reviewer, an item they already hold under a live lease in the
-- project is given back, unchanged (its id and expiry), marked 'held': a claim whose reply was
-- lost (a connection cut, a failover) is made again by the client, which must not be told that
-- nothing waits while the item it was given sits leased to it until the lease runs out. The
-- live leases are few (one per reviewer at work): ARGV[7] bounds how many are looked at.
--
-- Reply: {'ok', review id, task id, expires at (ms), payload JSON, answers JSON, reason}
--     or {'held', the same fields of the reviewer's live lease}
--     or {'empty'}
--     or {'err', 'not_reviewer', ''}

local now = now_ms(ARGV[1])
local reviewer = ARGV[2]
if redis.call('SISMEMBER', KEYS[1], reviewer) == 0 then
  return {'err', 'not_reviewer', ''}
end

local function answered_by(answers_key, task_id, volunteer_id)
  local list = load_json(answers_key, task_id)
  if list == nil then
    return false
  end
  for _, entry in ipairs(list) do
    if entry.volunteer_id == volunteer_id then
      return true
    end
  end
  return false
end

local limit = tonumber(ARGV[5])
local page = 32
local offset = 0
local chosen, score = nil, nil
while offset < limit and not chosen do
  local entries = redis.call('ZRANGE', KEYS[2], offset, math.min(offset + page, limit) - 1,
    'WITHSCORES')
  if #entries == 0 then
    break
  end
  for i = 1, #entries, 2 do
    local task_id = entries[i]
    if redis.call('SISMEMBER', KEYS[5], task_id) == 0
        and not answered_by(KEYS[6], task_id, reviewer) then
      chosen, score = task_id, tonumber(entries[i + 1])
      break
    end
  end
  offset = offset + page
end
if not chosen then
  local live = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. now, '+inf', 'LIMIT', 0,
    tonumber(ARGV[7]))
  for _, review_id in ipairs(live) do
    local record = load_json(KEYS[3], review_id)
    if record ~= nil and record.vol == reviewer and record.state == 'live' then
      return {'held', review_id, record.task, record.expires,
        redis.call('HGET', KEYS[7], record.task), redis.call('HGET', KEYS[6], record.task) or '[]',
        record.reason or ''}
    end
  end
  return {'empty'}
end

local task = load_json(KEYS[8], chosen)
local reason = task.review or ''
local review_id = ARGV[3] .. '.' .. chosen .. '.r' .. ARGV[4]
local expires = now + tonumber(ARGV[6])
local record = {
  task = chosen, vol = reviewer, state = 'live', claimed = now, expires = expires,
  score = score, reason = reason,
}
redis.call('ZREM', KEYS[2], chosen)
redis.call('HSET', KEYS[3], review_id, cjson.encode(record))
redis.call('ZADD', KEYS[4], expires, review_id)
redis.call('XADD', KEYS[9], '*', 'type', 'review.claimed', 'review', review_id, 'task', chosen,
  'reviewer', reviewer, 'at', now)
return {'ok', review_id, chosen, expires, redis.call('HGET', KEYS[7], chosen),
  redis.call('HGET', KEYS[6], chosen) or '[]', reason}
