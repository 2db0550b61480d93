-- include: _answers _counters _referrals_due
-- Data layout 3: moves open referrals from `referrals:open:created` (members
-- `{ref|mwc}:{due ms}:{id}` scored by their request's creation; a board's also in
-- `referrals:open:created:{board}`) into `referrals:due:...` (lua/_referrals_due.lua), a batch at a
-- time, each batch one atomic step.
-- ARGV: prefix, now, batch size -> {moved: n, left: n}
local batch = redis.call('ZRANGE', K.referrals_open_created, 0, tonumber(ARGV[3]) - 1,
                         'WITHSCORES')
for i = 1, #batch, 2 do
  local member, created = batch[i], batch[i + 1]
  local counter, due, rid = member:match('^(%a+):(%d+):(.+)$')
  local request_id = redis.call('HGET', K.referral(rid), 'request_id')
  counting_board(request_id and redis.call('HGET', K.request(request_id), 'board'))
  index_open_referral(counter, created, due, rid)
  redis.call('ZREM', K.referrals_open_created, member)
  if BOARD ~= '' then redis.call('ZREM', K.board_referrals_open_created(BOARD), member) end
end
return ok({moved = #batch / 2, left = redis.call('ZCARD', K.referrals_open_created)})
