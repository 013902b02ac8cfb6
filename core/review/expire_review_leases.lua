-- expire_review_leases.lua: put review items whose lease ran out back in the queue (bounded,
-- idempotent).
--
-- KEYS[1] P:review_asg     hash   review lease records (state expired)
-- KEYS[2] P:review_leases  zset   expired leases are removed
-- KEYS[3] P:review_queue   zset   the task goes back with the score it was claimed at
-- KEYS[4] P:events         stream review.expired
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] batch limit
--
-- A review lease is alive while now < expires; its record moves from live to expired here and
-- nowhere else, so each item returns to the queue exactly once.
--
-- Reply: {expired review id...}

local now = now_ms(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local expired = {}
for _, review_id in ipairs(due) do
  redis.call('ZREM', KEYS[2], review_id)
  local rec = load_json(KEYS[1], review_id)
  if rec and rec.state == 'live' then
    rec.state = 'expired'
    rec.ended = now
    redis.call('HSET', KEYS[1], review_id, cjson.encode(rec))
    redis.call('ZADD', KEYS[3], rec.score, rec.task)
    redis.call('XADD', KEYS[4], '*', 'type', 'review.expired', 'review', review_id,
      'task', rec.task, 'reviewer', rec.vol, 'at', now)
    expired[#expired + 1] = review_id
  end
end
return expired
