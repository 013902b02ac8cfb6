-- pseudonymise.lua: replace a volunteer's id by a pseudonym in some fields of one project hash.
--
-- KEYS[1] a hash of one project whose values are JSON naming volunteers: P:answers (task id ->
--         answer list), P:asg (assignment records), P:review_asg (review lease records) or
--         P:decisions (review decisions)
-- ARGV[1] the volunteer id
-- ARGV[2] the pseudonym written in its place
-- ARGV[3..] the fields to rewrite
--
-- The id is replaced where it stands as a whole JSON string ("vol_…"): ids are fixed-format
-- ([a-z0-9_]), so no escaping can hide one. One script call per batch of fields, so a submit
-- appending to the same answer list (submit.lua) can never interleave with the rewrite.
--
-- Reply: how many fields changed

local quoted = '"' .. ARGV[1] .. '"'
local replacement = '"' .. ARGV[2] .. '"'
local changed = 0
for i = 3, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local parts = {}
    local from = 1
    while true do
      local at = string.find(raw, quoted, from, true)
      if not at then
        break
      end
      parts[#parts + 1] = string.sub(raw, from, at - 1)
      parts[#parts + 1] = replacement
      from = at + #quoted
    end
    if #parts > 0 then
      parts[#parts + 1] = string.sub(raw, from)
      redis.call('HSET', KEYS[1], ARGV[i], table.concat(parts))
      changed = changed + 1
    end
  end
end
return changed
