-- webhook_dispatch.lua: take a bounded batch of due deliveries for the scheduler to send out.
--
-- KEYS[1] G:webhook:due  zset "<org-id>|<delivery-id>" -> when the next attempt is due (ms)
-- ARGV[1] now (ms)
-- ARGV[2] lease end (ms): each member taken is pushed there, so the next tick (or a second
--         scheduler) does not send it again; a message that is lost is sent again after it
-- ARGV[3] most members to take
--
-- Reply: the members taken; each message carries ARGV[2] as the score to expect.

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
