-- Confirm a pending TOTP enrolment, in one atomic step: the pending secret becomes the
-- user's secret (still the one the code was checked against), the code's time step is used,
-- and the recovery codes are replaced.
-- KEYS: [1] the user's MFA hash, [2] the user's recovery-code set
-- ARGV: [1] the pending secret the code was checked against, [2] the code's time step,
--       [3] now (ms), [4..] SHA-256 of each new recovery code
-- Returns 1, or 0 when the pending secret changed meanwhile (enrolment started again).
if redis.call('HGET', KEYS[1], 'totp_pending') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'totp_secret', ARGV[1], 'totp_step', ARGV[2], 'confirmed_ms', ARGV[3])
redis.call('HDEL', KEYS[1], 'totp_pending')
redis.call('DEL', KEYS[2])
redis.call('SADD', KEYS[2], unpack(ARGV, 4))
return 1
