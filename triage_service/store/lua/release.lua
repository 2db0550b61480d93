-- include: _answers _sessions _idempotency
-- The assigned clinician hands a request back; it keeps its original place in the queue.
-- ARGV: prefix, now, id, clinician_id, reason, min_remaining_ms, actor_role,
--       idempotency (last)
local again = idem_repeat()
if again then return again end
local id = ARGV[3]
local refused = release_session(id, ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7])
if refused then return refused end
idem_record(id)
return done(id)
