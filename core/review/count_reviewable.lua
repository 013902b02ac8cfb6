-- count_reviewable.lua: how many waiting review items one reviewer could claim now (reads only).
--
-- KEYS[1] P:reviewers       set    the reviewer must be a member (else nothing counts)
-- KEYS[2] P:review_queue    zset   scanned best first, as claim_review.lua scans it
-- KEYS[3] P:touched:<vol>   set    tasks the reviewer once claimed as a volunteer: not theirs
-- KEYS[4] P:answers         hash   a task with an answer by the reviewer is not theirs either
-- ARGV[1] reviewer (volunteer) id
-- ARGV[2] scan limit: the same bound as claim_review.lua's (the board's claim_scan_limit)
--
-- The scan of claim_review.lua, counting instead of choosing: "Review next" finds an item of this
-- project exactly when this counts one (DESIGN.md invariant 2 keeps a reviewer off the tasks
-- they answered, so those are not offered either). Items past the bound are neither counted nor
-- claimed; the reply says whether there are any.
--
-- Reply: {count, 1 when the queue holds more items than the bound else 0}

local reviewer = ARGV[1]
if redis.call('SISMEMBER', KEYS[1], reviewer) == 0 then
  return {0, 0}
end

local function answered_by(answers_key, task_id, volunteer_id)
  local list = load_json(answers_key, task_id)
  if list == nil then
    return false
  end
  for _, entry in ipairs(list) do
    if entry.volunteer_id == volunteer_id then
      return true
    end
  end
  return false
end

local limit = tonumber(ARGV[2])
local count = 0
local page = 32
local offset = 0
while offset < limit do
  local ids = redis.call('ZRANGE', KEYS[2], offset, math.min(offset + page, limit) - 1)
  if #ids == 0 then
    break
  end
  for _, task_id in ipairs(ids) do
    if redis.call('SISMEMBER', KEYS[3], task_id) == 0
        and not answered_by(KEYS[4], task_id, reviewer) then
      count = count + 1
    end
  end
  offset = offset + page
end
local more = 0
if redis.call('ZCARD', KEYS[2]) > limit then
  more = 1
end
return {count, more}
