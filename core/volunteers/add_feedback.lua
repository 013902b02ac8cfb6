-- add_feedback.lua: put a feedback item at the head of a volunteer's feedback list, once.
--
-- KEYS[1] G:vol:<volunteer-id>:feedback  list  JSON items, newest first, at most ARGV[3]
-- ARGV[1] the item's id (stable for one piece of feedback)
-- ARGV[2] the item: a JSON object whose "id" is ARGV[1]
-- ARGV[3] most items kept
--
-- An item whose id is already in the list is not added again, so a redelivered event gives one
-- item. (An item pushed out by ARGV[3] newer ones could come back if its event were replayed
-- after that; the list is a bounded "latest feedback", not a ledger.)
--
-- Reply: 1 added, 0 already there (nothing written)

local keep = tonumber(ARGV[3])
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, keep - 1)) do
  local ok, item = pcall(cjson.decode, raw)
  if ok and type(item) == 'table' and item.id == ARGV[1] then
    return 0
  end
end
redis.call('LPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], 0, keep - 1)
return 1
