-- include: _now _answers _events _sessions _transfers _idempotency
-- The assigned clinician offers the request in session to a named colleague on duty: the
-- offer lapses at `expires_ms` (timer `transfer:{id}`) unless the colleague answers first.
-- ARGV: prefix, now, id, clinician_id, clinician_name, colleague_id, note, expires_ms, idempotency (last)
local again = idem_repeat()
if again then return again end
local id, clinician, colleague = ARGV[3], ARGV[4], ARGV[6]
local rkey = K.request(id)
local row = redis.call('HMGET', rkey, 'status', 'clinician_id')
if not row[1] then return fail('not_found') end
if row[2] ~= clinician then return fail('not_assigned', row[1]) end
local _, refused = in_session_with(id, clinician)
if refused then return refused end
if pending_offer(id) then return fail('transfer_pending', row[1]) end
local problem = colleague_problem(id, clinician, colleague)
if problem then return fail(problem, row[1]) end
local name = redis.call('HGET', K.user(colleague), 'display_name') or ''
redis.call('HSET', rkey, 'transfer_to', colleague, 'transfer_to_name', name,
           'transfer_from', clinician, 'transfer_from_name', ARGV[5], 'transfer_note', ARGV[7],
           'transfer_offered_ms', NOW, 'transfer_expires_ms', ARGV[8])
redis.call('ZADD', K.due, ARGV[8], 'transfer:' .. id)
event('transfer_offered', id, clinician, 'clinician', {'to', colleague})
audit('transfer_offered', id, clinician, 'clinician', {'to', colleague})
redis.call('PUBLISH', K.wake, cjson.encode({type = 'transfer', request_id = id,
                                            state = 'offered', to = {colleague}}))
idem_record(id)
return done(id)
