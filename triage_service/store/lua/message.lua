-- include: _answers _events _idempotency
-- Appends a chat message with its event and wake-up, honouring an idempotency key: a repeat
-- answers the first message again.
-- ARGV: prefix, now, request_id, message_json, event (JSON list of names and values),
--       wake_json, open_only ('1': refuse unless the request is waiting or in session;
--       'waiting': unless it is waiting, for a clinician's message to a waiting officer,
--       which the access log also keeps),
--       idempotency (last)
local again = idem_repeat(function(seen) return ok({message = seen, repeated = true}) end)
if again then return again end
local id, message = ARGV[3], ARGV[4]
if ARGV[7] ~= '' then
  local status = redis.call('HGET', K.request(id), 'status')
  if not status then return fail('not_found') end
  if ARGV[7] == 'waiting' and status ~= 'waiting' then return fail('not_waiting', status) end
  if status ~= 'waiting' and status ~= 'in_session' then return fail('request_closed', status) end
end
if ARGV[7] == 'waiting' then
  audit('waiting_message', id, cjson.decode(message).author.id, 'clinician')
end
redis.call('RPUSH', K.messages(id), message)
redis.call('XADD', K.events, '*', unpack(cjson.decode(ARGV[5])))
redis.call('PUBLISH', K.wake, ARGV[6])
idem_record(message)
return ok({message = message})
