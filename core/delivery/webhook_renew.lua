-- webhook_renew.lua: a running attempt says it is alive, or that it has stopped.
--
-- KEYS[1] G:{G:webhook:due}:attempt:<message-id>  hash member, token, alive_until (+ stopped):
--         the attempt the message holds (webhook_claim.lua writes it)
-- ARGV[1] the claim token of the run renewing it
-- ARGV[2] for how long from now (Redis TIME, ms) the run counts as alive; 0 when it stops
--         without finishing (an error), so that the message, delivered again, takes the
--         attempt back at once
--
-- Only the run whose claim the record holds changes it: a record taken over meanwhile (by a
-- later run of the same message) or gone (finished, or its lease ran out) is left alone. A
-- stopped record stays stopped: a renewal already on its way when the run stopped changes
-- nothing.
--
-- Reply: 1 when renewed (or marked stopped), 0 otherwise.

local held = redis.call('HMGET', KEYS[1], 'token', 'stopped')
if tonumber(held[1]) ~= tonumber(ARGV[1]) or held[2] then
  return 0
end
if tonumber(ARGV[2]) <= 0 then
  redis.call('HSET', KEYS[1], 'alive_until', 0, 'stopped', 1)
  return 1
end
local time = redis.call('TIME')
local clock_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('HSET', KEYS[1], 'alive_until', clock_ms + tonumber(ARGV[2]))
return 1
