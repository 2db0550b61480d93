-- include: _now _answers _events _counters _alarms _idempotency
-- The owner officer withdraws a waiting request.
-- ARGV: prefix, now, id, officer_id, short_abandon_ms, idempotency (last)
local again = idem_repeat()
if again then return again end
local id, officer = ARGV[3], ARGV[4]
local rkey = K.request(id)
local status = redis.call('HGET', rkey, 'status')
if not status or redis.call('HGET', rkey, 'officer_id') ~= officer then return fail('not_found') end
if status ~= 'waiting' then return fail('not_waiting', status) end
local created = tonumber(redis.call('HGET', rkey, 'created_ms'))
counting(id)
redis.call('HSET', rkey, 'status', 'cancelled', 'completed_ms', NOW)
redis.call('ZREM', K.queue, id)
redis.call('ZREM', K.due, 'expire:' .. id)
resolve_alarms(id, WAITING_ALARMS, 'request_cancelled')
count(created, 'cancelled')
if redis.call('HGET', rkey, 'answered') ~= '1' and NOW - created >= tonumber(ARGV[5]) then
  count(created, 'abandoned')
end
event('cancelled', id, officer, 'officer', {'waited_ms', NOW - created})
idem_record(id)
return done(id)
