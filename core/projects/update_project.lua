-- update_project.lua: change fields of an existing project (policy, pause state, document).
--
-- KEYS[1] P:project  hash   the fields are written only if the project exists; doc_rev (the
--                           project's revision) goes up by one with every write
-- KEYS[2] P:events   stream project.updated (names of the changed fields, not their values)
-- ARGV[1] now (ms, or "" for Redis TIME)
-- ARGV[2] expected doc_rev: write only if the project is still at that revision (what a
--         read-merge-write of the document read), or "" to write whatever it is at
-- ARGV[3..] field, value pairs
--
-- A closed project (its deadline passed, see expire_deadline.lua) stays closed: a 'state' of
-- anything else is refused, whoever asks.
--
-- Reply: {'ok', new doc_rev}
--     or {'stale', current doc_rev}             ARGV[2] given and the project moved on: nothing
--                                               written (read it again, merge again)
--     or {'err', 'no_project', ''} / {'err', 'project_closed', 'closed'}

local now = now_ms(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'err', 'no_project', ''}
end
local project = redis.call('HMGET', KEYS[1], 'state', 'doc_rev')
local rev = tonumber(project[2] or '0')
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= rev then
  return {'stale', rev}
end
local names = {}
for i = 3, #ARGV, 2 do
  if project[1] == 'closed' and ARGV[i] == 'state' and ARGV[i + 1] ~= 'closed' then
    return {'err', 'project_closed', 'closed'}
  end
  names[#names + 1] = ARGV[i]
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
rev = redis.call('HINCRBY', KEYS[1], 'doc_rev', 1)
redis.call('XADD', KEYS[2], '*', 'type', 'project.updated', 'fields', table.concat(names, ','),
  'at', now)
return {'ok', rev}
