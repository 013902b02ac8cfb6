-- record_unclear.lua: a volunteer reports that a task's instructions are unclear.
--
-- KEYS[1] P:touched:<volunteer>  set     read: the tasks this volunteer claimed once
-- KEYS[2] P:unclear:seen         set     "<volunteer>:<task>": one report per volunteer and task
-- KEYS[3] P:unclear              stream  the reports, capped at ARGV[5] entries (oldest go)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] volunteer id
-- ARGV[3] task id
-- ARGV[4] note ("" for none; the caller bounds its length)
-- ARGV[5] most reports kept
--
-- Only someone who claimed the task (and so saw it) can report it; a second report of the same
-- volunteer on the same task changes nothing.
--
-- Reply: {'ok', entry id} | {'ok', ''} (reported before) | {'err', 'not_seen', ''}

local now = now_ms(ARGV[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[3]) == 0 then
  return {'err', 'not_seen', ''}
end
if redis.call('SADD', KEYS[2], ARGV[2] .. ':' .. ARGV[3]) == 0 then
  return {'ok', ''}
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', tonumber(ARGV[5]), '*', 'volunteer', ARGV[2],
  'task', ARGV[3], 'note', ARGV[4], 'at', now)
return {'ok', id}
