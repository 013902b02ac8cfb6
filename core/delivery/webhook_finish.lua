-- webhook_finish.lua: end an attempt: forget the delivery, or schedule its next attempt.
--
-- KEYS[1] G:webhook:due  zset "<org-id>|<delivery-id>" -> when the next attempt is due (ms)
-- KEYS[2] (optional) G:{G:webhook:due}:attempt:<message-id>  hash member, token, alive_until:
--         the attempt record of the message that claimed it, deleted along (same slot)
-- ARGV[1] member ("<org-id>|<delivery-id>")
-- ARGV[2] the claim token (the score webhook_claim.lua set)
-- ARGV[3] when the next attempt is due (ms), or "" when there is none (delivered, given up)
--
-- Only the holder of the claim changes the member: when its score moved meanwhile (someone
-- asked for a redelivery, or the lease ran out and another worker took over), the member is
-- theirs now and is left as it is.
--
-- Reply: 1 when the member was changed, 0 when the claim had been lost.

if KEYS[2] and tonumber(redis.call('HGET', KEYS[2], 'token')) == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[2])
end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
