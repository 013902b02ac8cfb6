-- webhook_claim.lua: take one delivery attempt, so that only one worker makes it.
--
-- KEYS[1] G:webhook:due  zset "<org-id>|<delivery-id>" -> when the next attempt is due (ms)
-- KEYS[2] (optional) G:{G:webhook:due}:attempt:<message-id>  hash member, token, alive_until:
--         the attempt the claiming dramatiq message holds (same slot as KEYS[1])
-- ARGV[1] member ("<org-id>|<delivery-id>")
-- ARGV[2] now (ms)
-- ARGV[3] lease end (ms): the member is pushed there while the attempt runs, so a worker that
--         dies mid-attempt is retried once the lease has run out
-- ARGV[4] expected score, or "": the score the sender of this message saw (a dispatch token)
-- ARGV[5] (with KEYS[2]) how long the attempt counts as alive without a renewal (ms)
--
-- The attempt is taken when the member is due (score <= now) or still carries the expected
-- score (the scheduler pushed it forward when it sent this message). A member that is absent
-- (delivered, failed, disabled) or leased to another attempt is left alone.
--
-- With KEYS[2], the claim is recorded under the message's id, and a member leased to *this
-- message* is taken back at once when the run that leased it has stopped renewing it (a worker
-- killed mid-attempt, whose message the broker delivered again): the redelivered message need
-- not wait for the lease. A run still renewing it is left alone: the same message running twice
-- at once never makes two attempts. Liveness is judged on Redis TIME (one clock for all).
--
-- Reply: the new score (the claim token, a string) when taken; "alive" when this message's own
-- earlier run holds the attempt and is still renewing it; false otherwise.

local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return false
end
score = tonumber(score)
local expected = tonumber(ARGV[4])
local taken = score <= tonumber(ARGV[2]) or (expected ~= nil and score == expected)
local clock_ms = nil
if KEYS[2] then
  local time = redis.call('TIME')
  clock_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if not taken then
    local held = redis.call('HMGET', KEYS[2], 'member', 'token', 'alive_until')
    if held[1] ~= ARGV[1] or tonumber(held[2]) ~= score then
      return false
    end
    if tonumber(held[3]) > clock_ms then
      return 'alive'
    end
    taken = true
  end
end
if not taken then
  return false
end
local lease = tonumber(ARGV[3])
if lease == score then
  lease = lease + 1  -- a token must differ from the score it replaces
end
redis.call('ZADD', KEYS[1], lease, ARGV[1])
if KEYS[2] then
  redis.call('DEL', KEYS[2])  -- an earlier run's record, stopped mark included
  redis.call('HSET', KEYS[2], 'member', ARGV[1], 'token', lease,
    'alive_until', clock_ms + tonumber(ARGV[5]))
  redis.call('PEXPIRE', KEYS[2], math.max(1, lease - tonumber(ARGV[2])))
end
return tostring(lease)
