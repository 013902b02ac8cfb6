-- webhook_disable.lua: mark an organisation's endpoint disabled (it answered 410 Gone).
--
-- KEYS[1] G:org:<org-id>:webhook  hash url, secret, created (+ disabled_for, disabled_at)
-- ARGV[1] the secret the 410 answered to
-- ARGV[2] the secret's fingerprint
-- ARGV[3] now (ms)
--
-- The mark names the endpoint by its secret's fingerprint: setting the webhook again makes a new
-- secret, which re-enables deliveries. Nothing is written when the endpoint was removed or
-- replaced meanwhile (a new endpoint must not inherit the old one's 410).
--
-- Reply: 1 when marked, 0 otherwise.

if redis.call('HGET', KEYS[1], 'secret') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'disabled_for', ARGV[2], 'disabled_at', ARGV[3])
return 1
