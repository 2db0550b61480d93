-- Register a passkey in one atomic step: the owner index and the user's own list, unless the
-- credential id is registered already (to anyone).
-- KEYS: [1] passkey owner index, [2] the user's passkeys; ARGV: [1] credential id,
-- [2] user id, [3] the passkey as JSON. Returns 1, or 0 when the id was taken.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
