-- reserve_slot.lua: hold one of a volunteer's live-assignment slots before a claim (the cap).
--
-- KEYS[1] G:vol:<vol>:live  zset   member -> expiry (ms): live assignments and pending
--                                  reservations; entries past their expiry are pruned here
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] reservation member ("res:<token>")
-- ARGV[3] reservation lifetime (ms): bounds how long a claim that never finished keeps a slot
-- ARGV[4] cap: most entries alive at once
-- KEYS[2] G:vol:<vol>      hash   the volunteer's profile
-- ARGV[5] the profile's "rev" the caller decided on, or "" (no check): refused
--         ('stale_profile', nothing written) when the profile changed since (another API
--         process wrote it): the caller reads it again and decides anew (core.accounts.store)
--
-- An entry is alive while now < expiry, like a lease. The caller swaps the reservation for the
-- assignment id once a claim succeeds, or drops it when nothing was claimed.
--
-- Reply: {'ok', entries alive, the new reservation included}
--     or {'err', 'too_many', entries alive, ms until the soonest of them ends}  (nothing
--        written, not even the pruning): when a slot frees by itself at the latest (Retry-After)
--     or {'err', 'stale_profile', rev now}  (nothing written)

if ARGV[5] ~= '' then
  local rev = redis.call('HGET', KEYS[2], 'rev')
  if not rev then  -- a profile never changed since stamps exist, or none any more (erased)
    rev = redis.call('EXISTS', KEYS[2]) == 1 and '0' or 'gone'
  end
  if rev ~= ARGV[5] then
    return {'err', 'stale_profile', rev}
  end
end
local now = now_ms(ARGV[1])
local cap = tonumber(ARGV[4])
local alive = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
if alive >= cap then
  local soonest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES',
    'LIMIT', 0, 1)
  return {'err', 'too_many', alive, tonumber(soonest[2]) - now}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
return {'ok', alive + 1}
