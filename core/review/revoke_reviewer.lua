-- revoke_reviewer.lua: withdraw a volunteer's review rights on a project, and end the review
-- leases they hold there: each item goes back to the queue at once, for another reviewer.
--
-- KEYS[1] P:reviewers      set    the volunteer leaves it
-- KEYS[2] P:review_asg     hash   their live review lease records (state revoked)
-- KEYS[3] P:review_leases  zset   scanned for their live leases, which are removed
-- KEYS[4] P:review_queue   zset   each item goes back with the score it was claimed at
-- KEYS[5] P:events         stream review.revoked, one per lease ended
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] volunteer id
--
-- A lease ends here as it ends on expiry (expire_review_leases.lua), in state 'revoked': a
-- decision on it is refused ('review_revoked', decide_review.lua), and the item, out of any live
-- lease again, is back in the queue exactly once. Safe to repeat: a second call finds nothing.
-- Looks at every live review lease of the project (one per item being reviewed, at most).
--
-- Reply: {'ok', review id ended...}

local now = now_ms(ARGV[1])
local volunteer_id = ARGV[2]
redis.call('SREM', KEYS[1], volunteer_id)
local reply = {'ok'}
for _, review_id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local rec = load_json(KEYS[2], review_id)
  if rec and rec.vol == volunteer_id and rec.state == 'live' then
    rec.state = 'revoked'
    rec.ended = now
    redis.call('HSET', KEYS[2], review_id, cjson.encode(rec))
    redis.call('ZREM', KEYS[3], review_id)
    redis.call('ZADD', KEYS[4], rec.score, rec.task)
    redis.call('XADD', KEYS[5], '*', 'type', 'review.revoked', 'review', review_id,
      'task', rec.task, 'reviewer', volunteer_id, 'at', now)
    reply[#reply + 1] = review_id
  end
end
return reply
