-- A session read for a request: its JSON, its idle timeout restarted only once it has run
-- down by more than the slack, so most requests write nothing (no append-only-file write to
-- wait for, nothing to replicate) and a session lapses at most the slack before its idle
-- timeout unused. A GET on a session of an earlier version (a hash) fails WRONGTYPE.
-- KEYS: [1] the session; ARGV: [1] idle timeout (ms), [2] slack (ms)
local session = redis.call('GET', KEYS[1])
if session and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) - tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return session
