-- The owner officer rates a completed assessment, once: how useful (1..5), optionally the
-- minutes it saved and a comment; counted for statistics in the same step.
-- ARGV: prefix, now, id, officer_id, useful, time_saved_min ('' if not given), comment
local id, officer = ARGV[3], ARGV[4]
local rkey = K.request(id)
local r = redis.call('HMGET', rkey, 'status', 'officer_id', 'created_ms', 'feedback_ms')
if not r[1] or r[2] ~= officer then return fail('not_found') end
if r[4] then return fail('feedback_given', r[1]) end
if r[1] ~= 'completed' then return fail('not_completed', r[1]) end
local useful, saved = tonumber(ARGV[5]), ARGV[6]
redis.call('HSET', rkey, 'useful', useful, 'time_saved_min', saved,
           'feedback_comment', ARGV[7], 'feedback_ms', NOW)
count(r[3], 'feedback')
count(r[3], 'useful_sum', useful)
if saved ~= '' then
  count(r[3], 'time_saved_n')
  count(r[3], 'time_saved_sum', tonumber(saved))
end
event('feedback', id, officer, 'officer', {'useful', useful})
return done(id)
