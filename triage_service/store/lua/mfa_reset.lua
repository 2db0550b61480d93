-- Remove every second factor of a user in one atomic step: TOTP, recovery codes, passkeys
-- (and their entries in the owner index).
-- KEYS: [1] MFA hash, [2] recovery-code set, [3] the user's passkeys, [4] passkey owner index
-- Returns how many passkeys went.
local ids = redis.call('HKEYS', KEYS[3])
if #ids > 0 then redis.call('HDEL', KEYS[4], unpack(ids)) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return #ids
