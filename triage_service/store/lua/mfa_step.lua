-- Use a TOTP time step once: a code is accepted only for a step later than the last one used,
-- so a code seen over someone's shoulder (or replayed) cannot be used again.
-- KEYS: [1] the user's MFA hash; ARGV: [1] the secret the code was checked against, [2] step
-- Returns 1 if the step is now used, 0 if it (or a later one) was used already or the secret
-- changed meanwhile (reset).
if redis.call('HGET', KEYS[1], 'totp_secret') ~= ARGV[1] then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'totp_step') or '-1')
if tonumber(ARGV[2]) <= last then return 0 end
redis.call('HSET', KEYS[1], 'totp_step', ARGV[2])
return 1
