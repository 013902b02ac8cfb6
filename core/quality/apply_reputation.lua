-- apply_reputation.lua: apply one piece of evidence to a volunteer's reputation, once per event
-- (core.quality.reputation: gold answers, agreement with an accepted result, review decisions, reopens).
--
-- KEYS[1] G:vol:<volunteer-id>:rep  hash  t:<type> and p:<type>:<project> -> JSON counts, with
--                                         u (ms) and h (half-life, ms): _reputation.lua;
--                                         soft:<project>:<task> -> the agreement credit given
--                                         on a task, JSON {at, n, d: deltas}, until a reviewer
--                                         settles it; applied:<event id> -> ms; pruned_at
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] event id naming the update ("gold:<project>:<submission>", ...): a second call
--         with it is a no-op, so a redelivered event counts once
-- ARGV[3] how long markers and soft credits are kept (ms)
-- ARGV[4] soft credit name, or "": the credit stored under it is taken back first
-- ARGV[5] "1": store this update's deltas as that name's new credit; "0": only take back
-- ARGV[6] the deltas: a JSON array of [field, [path, ...], amount]; each adds amount to the
--         number at path inside the field's JSON document (created as needed)
-- ARGV[7] answers of the decision the update stands for, or "": a credit stored under ARGV[4]
--         from a decision on as many answers or more is newer than this update, which then
--         changes nothing (a reopen settled after the task was decided again, a stale
--         agreement); a credit kept by this update records it (n)
-- ARGV[8] half-life of the evidence (ms; 0: it never fades)
--
-- Each document the deltas touch is first brought up to now (faded, _reputation.lua) and then
-- fades with ARGV[8]. A credit taken back is worth what is left of it: its deltas faded since it
-- was given (at; the tally of observations, n, in full), so taking it back leaves the counts as
-- if it had never been given.
-- Markers and credits live in the volunteer's hash itself, so the check and the update touch
-- one key (one cluster slot). Once a day at most, markers and credits older than ARGV[3] are
-- dropped.
--
-- Reply: 1 applied, 0 already applied (nothing written), 2 newer credit (only the marker written)

local now = now_ms(ARGV[1])
local marker = 'applied:' .. ARGV[2]
if redis.call('HEXISTS', KEYS[1], marker) == 1 then
  return 0
end
local half_life = tonumber(ARGV[8])

local documents = {}
local faded_with = {}  -- document -> the half-life it had been fading with (nil: none)
local function document(name)
  if documents[name] == nil then
    local raw = redis.call('HGET', KEYS[1], name)
    local doc = raw and cjson.decode(raw) or {}
    faded_with[name] = bring_up_to_date(doc, now)
    doc.u, doc.h = now, half_life
    documents[name] = doc
  end
  return documents[name]
end

local function add(delta, factor)
  add_at(document(delta[1]), delta[2], factor * tonumber(delta[3]))
end

local soft = ARGV[4]
local answers = tonumber(ARGV[7])
local result = 1
if soft ~= '' then
  local stored = redis.call('HGET', KEYS[1], soft)
  if stored then
    local credit = cjson.decode(stored)
    if answers and (tonumber(credit.n) or 0) >= answers then
      result = 2
    else
      for _, delta in ipairs(credit.d) do
        document(delta[1])  -- brought up to now first: faded_with is then known
        add(delta, -faded_at(delta[2], now, tonumber(credit.at), faded_with[delta[1]]))
      end
      redis.call('HDEL', KEYS[1], soft)
    end
  end
end
if result == 1 then
  for _, delta in ipairs(cjson.decode(ARGV[6])) do
    add(delta, 1)
  end
  for name, value in pairs(documents) do
    redis.call('HSET', KEYS[1], name, cjson.encode(value))
  end
  if soft ~= '' and ARGV[5] == '1' then
    local decided = answers and (',"n":' .. string.format('%d', answers)) or ''
    redis.call('HSET', KEYS[1], soft,
      '{"at":' .. string.format('%d', now) .. decided .. ',"d":' .. ARGV[6] .. '}')
  end
end
redis.call('HSET', KEYS[1], marker, now)

prune_reputation_markers(KEYS[1], now, tonumber(ARGV[3]))
return result
