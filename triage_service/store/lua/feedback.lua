-- include: _now _answers _events _counters _idempotency
-- The owner officer rates a completed assessment, once: how useful (1..5), optionally the
-- minutes it saved, a comment and what they would otherwise have done (the counterfactual,
-- read by the board report); counted for statistics in the same step.
-- ARGV: prefix, now, id, officer_id, useful, time_saved_min ('' if not given), comment,
--       counterfactual ('' if not given),
--       idempotency (last: a repeat answers the rating as the first call left it)
local again = idem_repeat()
if again then return again end
local id, officer = ARGV[3], ARGV[4]
local rkey = K.request(id)
local r = redis.call('HMGET', rkey, 'status', 'officer_id', 'created_ms', 'feedback_ms')
if not r[1] or r[2] ~= officer then return fail('not_found') end
if r[4] then return fail('feedback_given', r[1]) end
if r[1] ~= 'completed' then return fail('not_completed', r[1]) end
counting(id)  -- its health board's counters too
local useful, saved = tonumber(ARGV[5]), ARGV[6]
redis.call('HSET', rkey, 'useful', useful, 'time_saved_min', saved,
           'feedback_comment', ARGV[7], 'feedback_ms', NOW)
if ARGV[8] and ARGV[8] ~= '' then redis.call('HSET', rkey, 'counterfactual', ARGV[8]) end
count(r[3], 'feedback')
count(r[3], 'useful_sum', useful)
if saved ~= '' then
  count(r[3], 'time_saved_n')
  count(r[3], 'time_saved_sum', tonumber(saved))
end
event('feedback', id, officer, 'officer', {'useful', useful})
idem_record(id)
return done(id)
