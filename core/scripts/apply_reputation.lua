-- apply_reputation.lua: apply one piece of evidence to a volunteer's reputation, once per event
-- (core.reputation: gold answers, agreement with an accepted result, review decisions).
--
-- KEYS[1] G:vol:<volunteer-id>:rep  hash  t:<type> and p:<type>:<project> -> JSON counts;
--                                         soft:<project>:<task> -> the agreement credit given
--                                         on a task, JSON {at, d: deltas}, until a reviewer
--                                         settles it; applied:<event id> -> ms; pruned_at
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] event id naming the update ("gold:<project>:<submission>", ...): a second call
--         with it is a no-op, so a redelivered event counts once
-- ARGV[3] how long markers and soft credits are kept (ms)
-- ARGV[4] soft credit name, or "": the credit stored under it is taken back first
-- ARGV[5] "1": store this update's deltas as that name's new credit; "0": only take back
-- ARGV[6] the deltas: a JSON array of [field, [path, ...], amount]; each adds amount to the
--         number at path inside the field's JSON document (created as needed)
--
-- Markers and credits live in the volunteer's hash itself, so the check and the update touch
-- one key (one cluster slot). Once a day at most, markers and credits older than ARGV[3] are
-- dropped.
--
-- Reply: 1 applied, 0 already applied (nothing written)

local now = now_ms(ARGV[1])
local marker = 'applied:' .. ARGV[2]
if redis.call('HEXISTS', KEYS[1], marker) == 1 then
  return 0
end

local documents = {}
local function document(name)
  if documents[name] == nil then
    local raw = redis.call('HGET', KEYS[1], name)
    documents[name] = raw and cjson.decode(raw) or {}
  end
  return documents[name]
end

local function add(delta, sign)
  local node = document(delta[1])
  local path = delta[2]
  for i = 1, #path - 1 do
    if type(node[path[i]]) ~= 'table' then
      node[path[i]] = {}
    end
    node = node[path[i]]
  end
  local leaf = path[#path]
  local value = (tonumber(node[leaf]) or 0) + sign * tonumber(delta[3])
  -- A credit taken back leaves float dust, never a real count.
  if math.abs(value) < 1e-9 then
    value = 0
  end
  node[leaf] = value
end

local soft = ARGV[4]
if soft ~= '' then
  local stored = redis.call('HGET', KEYS[1], soft)
  if stored then
    for _, delta in ipairs(cjson.decode(stored).d) do
      add(delta, -1)
    end
    redis.call('HDEL', KEYS[1], soft)
  end
end
for _, delta in ipairs(cjson.decode(ARGV[6])) do
  add(delta, 1)
end
for name, value in pairs(documents) do
  redis.call('HSET', KEYS[1], name, cjson.encode(value))
end
if soft ~= '' and ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], soft, '{"at":' .. now .. ',"d":' .. ARGV[6] .. '}')
end
redis.call('HSET', KEYS[1], marker, now)

local retention = tonumber(ARGV[3])
local pruned = tonumber(redis.call('HGET', KEYS[1], 'pruned_at') or '0')
if now - pruned >= 86400000 then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local name = all[i]
    local at = nil
    if string.sub(name, 1, 8) == 'applied:' then
      at = tonumber(all[i + 1])
    elseif string.sub(name, 1, 5) == 'soft:' then
      at = tonumber(cjson.decode(all[i + 1]).at)
    end
    if at and now - at > retention then
      redis.call('HDEL', KEYS[1], name)
    end
  end
  redis.call('HSET', KEYS[1], 'pruned_at', now)
end
return 1
