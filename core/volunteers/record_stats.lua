-- record_stats.lua: add to a volunteer's stats, once per update (the stats actor).
--
-- KEYS[1] G:vol:<volunteer-id>:stats  hash  counters, and applied:<marker> -> ms for every
--                                           update already counted
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] marker naming the update (e.g. "sub:<submission id>"): a second call with it is a
--         no-op, so a redelivered event is counted once
-- ARGV[3] how long markers are kept (ms)
-- ARGV[4..] field, increment pairs; an increment written with a '.' is a float (HINCRBYFLOAT)
--
-- The markers live in the stats hash itself, so the check and the update touch one key (one
-- cluster slot). Once a day at most, markers older than ARGV[3] are dropped: a volunteer's hash
-- holds the markers of that window only.
--
-- Reply: 1 applied, 0 already applied (nothing written)

local now = now_ms(ARGV[1])
local marker = 'applied:' .. ARGV[2]
if redis.call('HEXISTS', KEYS[1], marker) == 1 then
  return 0
end
for i = 4, #ARGV, 2 do
  if string.find(ARGV[i + 1], '.', 1, true) then
    redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
  else
    redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[1], marker, now)

prune_old_fields(KEYS[1], 'markers_pruned_at', now, tonumber(ARGV[3]), function(name, value)
  if string.sub(name, 1, 8) == 'applied:' then
    return tonumber(value)
  end
end)
return 1
