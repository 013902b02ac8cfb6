-- webhook_claim.lua: take one delivery attempt, so that only one worker makes it.
--
-- KEYS[1] G:webhook:due  zset "<org-id>|<delivery-id>" -> when the next attempt is due (ms)
-- ARGV[1] member ("<org-id>|<delivery-id>")
-- ARGV[2] now (ms)
-- ARGV[3] lease end (ms): the member is pushed there while the attempt runs, so a worker that
--         dies mid-attempt is retried once the lease has run out
-- ARGV[4] expected score, or "": the score the sender of this message saw (a dispatch token)
--
-- The attempt is taken when the member is due (score <= now) or still carries the expected
-- score (the scheduler pushed it forward when it sent this message). A member that is absent
-- (delivered, failed, disabled) or leased to another attempt is left alone.
--
-- Reply: the new score (the claim token, a string) when taken, false otherwise.

local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return false
end
score = tonumber(score)
local expected = tonumber(ARGV[4])
if score <= tonumber(ARGV[2]) or (expected ~= nil and score == expected) then
  local lease = tonumber(ARGV[3])
  if lease == score then
    lease = lease + 1  -- a token must differ from the score it replaces
  end
  redis.call('ZADD', KEYS[1], lease, ARGV[1])
  return tostring(lease)
end
return false
