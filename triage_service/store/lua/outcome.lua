-- include: _now _answers _events _counters _outcome_counts _clinicians _sessions _idempotency
-- include: _referrals_due
-- Files the outcome of an in-session request, exactly once, with its referral and any s298
-- notification, and frees the clinician.
-- ARGV: prefix, now, id, clinician_id, outcome_json, disposition, triage_code, conveyance,
--       police_released_ms, referral_json ('' for none), notice_json ('' for none),
--       overridden ('1' when filed against the usual code/disposition rules, else ''),
--       notify ('1' when the referral's team has a webhook: its delivery is queued, else ''),
--       idempotency (last)
-- A referral carries its `team` (service:board): it is indexed for that team, and for the
-- clinician who made it, in this same step.
local again = idem_repeat()
if again then return again end
local id, clinician = ARGV[3], ARGV[4]
local _, refused = in_session_with(id, clinician)
if refused then return refused end
local rkey = K.request(id)
local created = tonumber(redis.call('HGET', rkey, 'created_ms'))
counting(id)
local accepted = tonumber(redis.call('HGET', rkey, 'accepted_ms'))
local released = tonumber(ARGV[9])
local disposition, code, conveyance = ARGV[6], ARGV[7], ARGV[8]
local overridden = ARGV[12] or ''
redis.call('HSET', rkey, 'status', 'completed', 'completed_ms', NOW, 'outcome', ARGV[5],
           'disposition', disposition, 'triage_code', code, 'conveyance', conveyance,
           'officer_released_ms', released, 'overridden', overridden)
redis.call('SREM', K.active, id)
redis.call('SREM', K.clinician_sessions(clinician), id)
free_clinician(clinician)
remember(K.recent_sessions, NOW - accepted)
for _, field in ipairs(outcome_fields({disposition = disposition, triage_code = code,
    conveyance = conveyance, overridden = overridden,
    area_id = redis.call('HGET', rkey, 'area_id')})) do
  count(created, field)
end
observe('assess', id, created, NOW - accepted)
observe('police', id, created, released - created)

local function open_referral(json)
  local referral = cjson.decode(json)
  local flat = {}
  for name, value in pairs(referral) do
    flat[#flat + 1] = name
    flat[#flat + 1] = tostring(value)
  end
  redis.call('HSET', K.referral(referral.id), unpack(flat))
  redis.call('ZADD', K.referrals, NOW, referral.id)
  redis.call('ZADD', K.referrals_open, referral.due_ms, referral.id)
  redis.call('ZADD', K.clinician_referrals(clinician), NOW, referral.id)
  local counter = 'ref'
  if referral.kind == 'mwc_notification' then
    counter = 'mwc'
    redis.call('ZADD', K.referrals_mwc, referral.due_ms, referral.id)
  end
  index_open_referral(counter, created, referral.due_ms, referral.id)
  if referral.team then
    redis.call('ZADD', K.team_open(referral.team), referral.due_ms, referral.id)
    redis.call('ZADD', K.team_referrals(referral.team), NOW, referral.id)
    if ARGV[13] == '1' then
      redis.call('ZADD', K.alarm_deliveries, NOW, 'team:' .. referral.id)
    end
  end
  redis.call('PUBLISH', K.wake, cjson.encode({type = 'referral', referral_id = referral.id}))
  event('referral_opened', id, clinician, 'clinician', {'referral_id', referral.id,
        'kind', referral.kind, 'due_ms', referral.due_ms})
  return referral.id
end

if ARGV[10] ~= '' then
  redis.call('HSET', rkey, 'referral_id', open_referral(ARGV[10]))
  count(created, 'referrals')
end
if ARGV[11] ~= '' then
  redis.call('HSET', rkey, 'notice_id', open_referral(ARGV[11]))
  count(created, 's297')
end
event('completed', id, clinician, 'clinician', {'disposition', disposition, 'triage_code', code})
audit('outcome_filed', id, clinician, 'clinician',
      {'referral_id', redis.call('HGET', rkey, 'referral_id') or ''})
idem_record(id)
return done(id)
