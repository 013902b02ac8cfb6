-- update_project.lua: change fields of an existing project (policy, pause state, document).
--
-- KEYS[1] P:project  hash   the fields are written only if the project exists
-- KEYS[2] P:events   stream project.updated (names of the changed fields, not their values)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2..] field, value pairs
--
-- Reply: {'ok'} or {'err', 'no_project', ''}

local now = now_ms(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'err', 'no_project', ''}
end
local names = {}
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  names[#names + 1] = ARGV[i]
end
redis.call('XADD', KEYS[2], '*', 'type', 'project.updated', 'fields', table.concat(names, ','),
  'at', now)
return {'ok'}
