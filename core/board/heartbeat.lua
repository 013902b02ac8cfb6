-- heartbeat.lua: extend a live lease, never past its cap (claimed at + max lease).
--
-- KEYS[1] P:project  hash   reads lease_ms
-- KEYS[2] P:asg      hash   the assignment record (expires)
-- KEYS[3] P:leases   zset   the lease's new expiry
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] assignment id
-- ARGV[3] volunteer id (must own the assignment)
--
-- Reply: {'ok', expires at (ms), 1 if the cap was reached else 0}
--     or {'err', 'no_assignment' | 'lease_expired' | 'lease_released' | 'lease_submitted', state}

local now = now_ms(ARGV[1])
local rec, refusal = live_assignment(KEYS[2], ARGV[2], ARGV[3], now)
if not rec then
  return refusal
end
local lease_ms = tonumber(redis.call('HGET', KEYS[1], 'lease_ms'))
local wanted = now + lease_ms
local capped = 0
if wanted >= rec.cap then
  wanted = rec.cap
  capped = 1
end
if wanted > rec.expires then
  rec.expires = wanted
  redis.call('HSET', KEYS[2], ARGV[2], cjson.encode(rec))
  redis.call('ZADD', KEYS[3], wanted, ARGV[2])
end
return {'ok', rec.expires, capped}
