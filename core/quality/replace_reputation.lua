-- replace_reputation.lua: put a project refit's confusion estimates in place of a volunteer's
-- online counts (core.quality.refit), once per refit.
--
-- KEYS[1] G:vol:<volunteer-id>:rep  hash  (apply_reputation.lua): p:<type>:<project> -> JSON
--                                         counts with u and h; applied:<event id> -> ms
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] event id ("refit:<project>:<refit>"): a second call with it is a no-op
-- ARGV[3] how long markers are kept (ms)
-- ARGV[4] the document (hash field) to write, p:<type>:<project>
-- ARGV[5] the new confusion counts: JSON {true label: {answered label: count}}
-- ARGV[6] half-life of the evidence (ms; 0: it never fades)
--
-- The document is brought up to now (_reputation.lua) and its "c" replaced; the rest of it
-- (per-field counts of other types, its tally) stays. Soft credits stored for tasks the refit
-- read stay too: a review still takes them back from the new counts, which hold that task's
-- evidence as the refit weighed it.
--
-- Reply: 1 replaced, 0 already applied (nothing written)

local now = now_ms(ARGV[1])
local marker = 'applied:' .. ARGV[2]
if redis.call('HEXISTS', KEYS[1], marker) == 1 then
  return 0
end
local raw = redis.call('HGET', KEYS[1], ARGV[4])
local doc = raw and cjson.decode(raw) or {}
bring_up_to_date(doc, now)
doc.c = cjson.decode(ARGV[5])
doc.u, doc.h = now, tonumber(ARGV[6])
redis.call('HSET', KEYS[1], ARGV[4], cjson.encode(doc))
redis.call('HSET', KEYS[1], marker, now)
prune_reputation_markers(KEYS[1], now, tonumber(ARGV[3]))
return 1
