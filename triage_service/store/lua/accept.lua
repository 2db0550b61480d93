-- Accepts one waiting request for a clinician: exactly one caller wins.
-- ARGV: prefix, now, id, clinician_id, clinician_name
return accept(ARGV[3], ARGV[4], ARGV[5])
