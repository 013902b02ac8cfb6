-- _reputation.lua: how a volunteer's reputation fades with time, shared by apply_reputation.lua
-- (writes) and read_reputation.lua (reads), prepended to them after the prelude.
--
-- Touches no key. A reputation document (t:<type>, p:<type>:<project>: JSON counts, see
-- core.quality.reputation_model) carries, besides its counts, the time it was last brought up to date
-- (u, ms) and the half-life it fades with (h, ms; 0 or none: it never fades). Brought to `now`,
-- every count of evidence in it is multiplied by 2^(-(now - u) / h): old evidence counts less
-- and less, so the estimate drifts back towards the prior unless new evidence keeps it up. The
-- tally of observations by source (n) does not fade: it is what the volunteer did, not evidence.
-- Nothing sweeps the store: a write fades a document before adding to it, a read fades its own
-- copy, and both use this one function, so a read at some time gives what a write at that time
-- would start from.

-- Counts this small are float dust (a credit taken back, evidence faded away): stored as 0.
local REPUTATION_DUST = 1e-9
-- Top-level entries of a document that never fade.
local REPUTATION_LASTING = {u = true, h = true, n = true}

-- What one unit of evidence kept since `since` is worth at `now` (1: nothing faded).
local function faded(now, since, half_life)
  if since == nil or half_life == nil or half_life <= 0 or now <= since then
    return 1
  end
  return 2 ^ (-(now - since) / half_life)
end

-- The factor an increment made `since` to `path` (a delta's path) is worth at `now`.
local function faded_at(path, now, since, half_life)
  if REPUTATION_LASTING[path[1]] then
    return 1
  end
  return faded(now, since, half_life)
end

local function scaled(value, factor)
  if type(value) == 'table' then
    for name, inner in pairs(value) do
      value[name] = scaled(inner, factor)
    end
    return value
  end
  if type(value) ~= 'number' then
    return value
  end
  value = value * factor
  if math.abs(value) < REPUTATION_DUST then
    return 0
  end
  return value
end

-- Bring a decoded document up to `now`: its evidence faded, u = now (a document without u,
-- last written before reputations faded, starts fading from its next write). Returns the
-- half-life it faded with (nil for none) and whether anything changed.
local function bring_up_to_date(doc, now)
  local half_life = tonumber(doc.h)
  local factor = faded(now, tonumber(doc.u), half_life)
  if factor == 1 then
    return half_life, false
  end
  for name, value in pairs(doc) do
    if not REPUTATION_LASTING[name] then
      doc[name] = scaled(value, factor)
    end
  end
  doc.u = now
  return half_life, true
end

-- Add `amount` to the count at `path` (a delta's path: names into the document) of `doc`,
-- making the tables on the way; what is left is float dust (a credit taken back) counts 0.
local function add_at(doc, path, amount)
  local node = doc
  for i = 1, #path - 1 do
    if type(node[path[i]]) ~= 'table' then
      node[path[i]] = {}
    end
    node = node[path[i]]
  end
  local leaf = path[#path]
  local value = (tonumber(node[leaf]) or 0) + amount
  if math.abs(value) < REPUTATION_DUST then
    value = 0
  end
  node[leaf] = value
end

-- Once a day at most, the markers of applied updates (`applied:<id>`, their value the time) and
-- the soft credits (`soft:<task>`, JSON with `at`) older than `retention` ms leave the hash.
local function prune_reputation_markers(hash_key, now, retention)
  prune_old_fields(hash_key, 'pruned_at', now, retention, function(name, value)
    if string.sub(name, 1, 8) == 'applied:' then
      return tonumber(value)
    elseif string.sub(name, 1, 5) == 'soft:' then
      return tonumber(cjson.decode(value).at)
    end
  end)
end
