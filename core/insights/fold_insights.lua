-- fold_insights.lua: fold the project's next events into its measurements (core.insights.rollup).
--
-- KEYS[1] P:project                 hash    read: the per-state counters (count:<state>)
-- KEYS[2] P:events                  stream  read: the events after the cursor
-- KEYS[3] P:results                 stream  read: a published result's method and confidence
-- KEYS[4] P:answers                 hash    read: who answered a task a reviewer reopened/rejected
-- KEYS[5] P:insights                hash    cursor, d:<day>:<metric>, t:<metric>, s:<day>
-- KEYS[6] P:insights:vol            hash    <volunteer>:<a|g|gc|r|x>
-- KEYS[7] P:insights:vol_rank       zset    volunteer -> answers
-- KEYS[8] P:insights:review_open    zset    task -> when its review item opened (ms)
-- KEYS[9] P:insights:review_waits   list    waits (ms) of the last decisions, newest first
-- ARGV[1] now (ms, or "" for Redis TIME): the day of the per-state snapshot
-- ARGV[2] most events to fold in this call
-- ARGV[3] how many decided waits to keep
-- ARGV[4] how many days of per-day fields to keep
-- ARGV[5..] the per-day metric names (what pruning deletes)
--
-- The cursor and every count move in this one script, so each event is folded exactly once
-- however many callers (the scheduler, a page) fold at the same time. Days are UTC days since
-- the epoch of the event's own "at" (the board clock), never of the stream id.
--
-- Reply: {folded, more (1 when events are left after this call), cursor}

local DAY = 86400000
local now = now_ms(ARGV[1])
local limit = tonumber(ARGV[2])
local keep_waits = tonumber(ARGV[3])
local keep_days = tonumber(ARGV[4])
local cursor = redis.call('HGET', KEYS[5], 'cursor') or '0-0'

local function bump(at, metric, by)
  if by == 0 then
    return
  end
  local day = math.floor(at / DAY)
  redis.call('HINCRBY', KEYS[5], 'd:' .. day .. ':' .. metric, by)
  redis.call('HINCRBY', KEYS[5], 't:' .. metric, by)
end

local function volunteer(vol, field, by)
  if vol and vol ~= '' then
    redis.call('HINCRBY', KEYS[6], vol .. ':' .. field, by)
  end
end

-- The volunteers whose answers (given up to `at`) a review decision sent back or threw out.
local function judged(task_id, at, field)
  for _, entry in ipairs(load_json(KEYS[4], task_id) or {}) do
    if (tonumber(entry.at) or 0) <= at then
      volunteer(entry.volunteer_id, field, 1)
    end
  end
end

local entries = redis.call('XRANGE', KEYS[2], '(' .. cursor, '+', 'COUNT', limit + 1)
local folded = 0
for i = 1, math.min(#entries, limit) do
  local id, raw = entries[i][1], entries[i][2]
  local f = {}
  for j = 1, #raw, 2 do
    f[raw[j]] = raw[j + 1]
  end
  local at = tonumber(f.at) or now
  local kind = f.type
  if kind == 'tasks.created' then
    bump(at, 'created', (tonumber(f.count) or 0) - (tonumber(f.gold) or 0))
  elseif kind == 'answer.submitted' then
    bump(at, 'answers', 1)
    volunteer(f.volunteer, 'a', 1)
    if f.volunteer and f.volunteer ~= '' then
      redis.call('ZINCRBY', KEYS[7], 1, f.volunteer)
    end
  elseif kind == 'gold.answered' then
    bump(at, 'answers', 1)
    bump(at, 'gold', 1)
    volunteer(f.volunteer, 'a', 1)
    volunteer(f.volunteer, 'g', 1)
    if f.correct == '1' then
      volunteer(f.volunteer, 'gc', 1)
    end
    if f.volunteer and f.volunteer ~= '' then
      redis.call('ZINCRBY', KEYS[7], 1, f.volunteer)
    end
  elseif kind == 'task.resolved' then
    bump(at, 'agreed', 1)
  elseif kind == 'task.extended' then
    bump(at, 'disagreed', 1)
  elseif kind == 'review.opened' then
    bump(at, 'reviews_opened', 1)
    if f.reason == 'spot_check' then
      bump(at, 'agreed', 1)
    elseif f.reason == 'disagreement' then
      bump(at, 'disagreed', 1)
    end
    redis.call('ZADD', KEYS[8], at, f.task)
  elseif kind == 'review.decided' then
    bump(at, 'reviews_decided', 1)
    if f.action == 'accept' or f.action == 'correct' or f.action == 'reopen' or
        f.action == 'reject' then
      bump(at, 'review_' .. f.action, 1)
    end
    local opened = redis.call('ZSCORE', KEYS[8], f.task)
    if opened then
      redis.call('LPUSH', KEYS[9], math.max(0, at - tonumber(opened)))
      redis.call('LTRIM', KEYS[9], 0, keep_waits - 1)
      redis.call('ZREM', KEYS[8], f.task)
    end
    if f.action == 'reopen' then
      judged(f.task, at, 'r')
    elseif f.action == 'reject' then
      judged(f.task, at, 'x')
    end
  elseif kind == 'result.published' then
    bump(at, 'results', 1)
    local found = redis.call('XRANGE', KEYS[3], f.result, f.result)
    if #found == 1 then
      local r = {}
      local rf = found[1][2]
      for j = 1, #rf, 2 do
        r[rf[j]] = rf[j + 1]
      end
      if r.method == 'agreement' then
        bump(at, 'auto', 1)
        redis.call('HINCRBYFLOAT', KEYS[5], 't:confidence_sum', tonumber(r.confidence) or 0)
      elseif r.method == 'review' then
        bump(at, 'reviewed', 1)
      elseif r.method == 'rejected' then
        bump(at, 'rejected', 1)
      end
    end
  elseif kind == 'tasks.expired' then
    bump(at, 'expired', tonumber(f.count) or 0)
  end
  cursor = id
  folded = folded + 1
end
redis.call('HSET', KEYS[5], 'cursor', cursor)

-- Today's per-state snapshot: the counters as they are now (the day's last fold wins).
local today = math.floor(now / DAY)
local counts = {}
local project = redis.call('HGETALL', KEYS[1])
for j = 1, #project, 2 do
  local name = project[j]
  if string.sub(name, 1, 6) == 'count:' then
    counts[string.sub(name, 7)] = tonumber(project[j + 1])
  end
end
if next(counts) ~= nil then
  redis.call('HSET', KEYS[5], 's:' .. today, cjson.encode(counts))
end

-- Once a day, drop the per-day fields of the days that fell out of the kept window.
local pruned = tonumber(redis.call('HGET', KEYS[5], 'pruned') or '') or (today - keep_days)
if pruned < today - keep_days then
  for day = math.max(pruned + 1, today - keep_days - 366), today - keep_days do
    local fields = {'s:' .. day}
    for k = 5, #ARGV do
      fields[#fields + 1] = 'd:' .. day .. ':' .. ARGV[k]
    end
    redis.call('HDEL', KEYS[5], unpack(fields))
  end
end
redis.call('HSET', KEYS[5], 'pruned', today - keep_days)

local more = 0
if #entries > limit then
  more = 1
end
return {folded, more, cursor}
