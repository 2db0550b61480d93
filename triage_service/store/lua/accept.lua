-- include: _accept _idempotency
-- Accepts one waiting request for a clinician: exactly one caller wins.
-- ARGV: prefix, now, id, clinician_id, clinician_name, idempotency (last)
local again = idem_repeat()
if again then return again end
return idem_keep(accept(ARGV[3], ARGV[4], ARGV[5]), ARGV[3])
