-- rewrite_results.lua: copy a project's results feed with one volunteer's id replaced by a
-- pseudonym, a bounded batch per call, then put the copy in the feed's place.
--
-- KEYS[1] P:results          stream the feed (entry ids are the NGO's cursors: kept as they are)
-- KEYS[2] P:results:rewrite  stream the copy being written (resumed where it stopped)
-- ARGV[1] the volunteer id
-- ARGV[2] the pseudonym
-- ARGV[3] most entries copied by this call
-- ARGV[4] the feed's last-generated-id as the caller read it just before (XINFO STREAM), or ""
--
-- Every entry is copied under its own id (XADD with an explicit id), its fields unchanged except
-- that the volunteer id, where it stands as a JSON string in the contributors list, becomes the
-- pseudonym. The call that reaches the end of the feed also sets the copy's last id to the
-- feed's as read by the caller (ARGV[4], when above the copy's last entry: so ids handed out
-- later still grow past every cursor given before, even one of a deleted entry) and renames the
-- copy over the feed, in the same script: no result can be published in between. A crash
-- between calls leaves a partial copy, which the next call continues from its last id.
--
-- Reply: {1} the feed was replaced (or there was none), {0, entries copied} more to do

if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return {1}
end
local last = '-'
local tail = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #tail > 0 then
  last = '(' .. tail[1][1]
end
local limit = tonumber(ARGV[3])
local entries = redis.call('XRANGE', KEYS[1], last, '+', 'COUNT', limit)
local quoted = '"' .. ARGV[1] .. '"'
local replacement = '"' .. ARGV[2] .. '"'
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'contributors' then
      local raw = fields[i + 1]
      local parts, from = {}, 1
      while true do
        local at = string.find(raw, quoted, from, true)
        if not at then
          break
        end
        parts[#parts + 1] = string.sub(raw, from, at - 1)
        parts[#parts + 1] = replacement
        from = at + #quoted
      end
      parts[#parts + 1] = string.sub(raw, from)
      fields[i + 1] = table.concat(parts)
    end
  end
  redis.call('XADD', KEYS[2], entry[1], unpack(fields))
end
if #entries == limit then
  return {0, #entries}
end
-- The end of the feed: the copy takes its place.
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1][1]
  if ARGV[4] ~= '' then
    local ms, seq = id_parts(ARGV[4])
    local top_ms, top_seq = id_parts(top)
    if ms and (ms > top_ms or (ms == top_ms and seq > top_seq)) then
      redis.call('XSETID', KEYS[2], ARGV[4])
    end
  end
  redis.call('RENAME', KEYS[2], KEYS[1])
end
return {1}
