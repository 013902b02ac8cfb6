-- read_reputation.lua: a volunteer's reputation documents as they stand now, faded with time
-- (_reputation.lua), for the aggregation's weights, reputation floors and the reputation views
-- (core.reputation). Writes nothing.
--
-- KEYS[1] G:vol:<volunteer-id>:rep  hash  t:<type> and p:<type>:<project> -> JSON counts (read)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2..] the documents (hash fields) to read
--
-- Reply: per field, in order, the document brought up to now (JSON: what apply_reputation.lua
-- would start from at this time), as stored when it has nothing to fade, or nil when the
-- volunteer has none

local now = now_ms(ARGV[1])
local found = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
local reply = {}
for i = 1, #ARGV - 1 do
  local raw = found[i]
  if raw then
    local doc = cjson.decode(raw)
    local _, changed = bring_up_to_date(doc, now)
    if changed then
      raw = cjson.encode(doc)
    end
  end
  reply[i] = raw
end
return reply
