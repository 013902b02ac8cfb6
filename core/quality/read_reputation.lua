-- read_reputation.lua: a volunteer's reputation documents as they stand now, faded with time
-- (_reputation.lua), for the aggregation's weights, reputation floors and the reputation views
-- (core.quality.reputation). Writes nothing.
--
-- KEYS[1] G:vol:<volunteer-id>:rep  hash  t:<type> and p:<type>:<project> -> JSON counts (read),
--                                         soft:<project>:<task> -> a stored agreement credit
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] a soft credit to leave out ("" for none): the credit of the task being decided, so its
--         own agreement never weighs in its decision, whether or not a run deciding it before
--         (a duplicate message, a crash mid-way) already credited it
-- ARGV[3..] the documents (hash fields) to read
--
-- Reply: per field, in order, the document brought up to now (JSON: what apply_reputation.lua
-- would start from at this time) without the left-out credit, as stored when it has nothing to
-- fade or leave out, or nil when the volunteer has none

local now = now_ms(ARGV[1])
local found = redis.call('HMGET', KEYS[1], unpack(ARGV, 3))
local credit = nil
if ARGV[2] ~= '' then
  local stored = redis.call('HGET', KEYS[1], ARGV[2])
  credit = stored and cjson.decode(stored)
end
local reply = {}
for i = 1, #ARGV - 2 do
  local raw = found[i]
  if raw then
    local doc = cjson.decode(raw)
    local half_life, changed = bring_up_to_date(doc, now)
    if credit then
      for _, delta in ipairs(credit.d) do
        if delta[1] == ARGV[i + 2] then
          local worth = faded_at(delta[2], now, tonumber(credit.at), half_life)
          add_at(doc, delta[2], -worth * tonumber(delta[3]))
          changed = true
        end
      end
    end
    if changed then
      raw = cjson.encode(doc)
    end
  end
  reply[i] = raw
end
return reply
