-- include: _answers _clinicians _accept _idempotency
-- Accepts the first waiting request in service order that is offered to this clinician
-- (their boards, or any board past its overflow time).
-- ARGV: prefix, now, clinician_id, clinician_name, idempotency (last)
local again = idem_repeat()
if again then return again end
if redis.call('SCARD', K.clinician_sessions(ARGV[3])) > 0 then
  return fail('already_in_session')
end
local boards = covers(ARGV[3])
for _, id in ipairs(redis.call('ZRANGE', K.queue, 0, -1)) do
  if offered(id, boards) then return idem_keep(accept(id, ARGV[3], ARGV[4]), id) end
end
return fail('queue_empty')
