-- include: _counters
-- Open referrals (and s298 notifications, `counter` `mwc` rather than `ref`) by due time, in
-- every piece of time holding their request's creation, also apart for its board
-- (`referrals:due:{counter}[@{board}]:{piece}`): the referrals of a window not yet due are
-- one ZCOUNT a piece (lua/stats.lua), however many are stored. Set the board (`counting`)
-- first; a referral leaves them when it is closed (lua/referral_update.lua).

-- The pieces of time holding `created_ms`, named as the counters' keys name them: its hour,
-- the blocks of 2, 4, ... 2^10 hours holding it (`L{level}:{index}`), its 5-minute slice
-- (`S:{index}`) and its minute (`M:{index}`).
local function pieces_of(created_ms)
  local h = bucket(created_ms)
  local pieces = {tostring(h)}
  for level = 1, STATS_LEVELS do
    pieces[level + 1] = 'L' .. level .. ':' .. math.floor(h / 2 ^ level)
  end
  pieces[#pieces + 1] = 'S:' .. math.floor(tonumber(created_ms) / 300000)
  pieces[#pieces + 1] = 'M:' .. math.floor(tonumber(created_ms) / 60000)
  return pieces
end

local function referral_due_keys(counter, created_ms)
  local kinds = {counter}
  if BOARD ~= '' then kinds[2] = counter .. '@' .. BOARD end
  local keys = {}
  for _, kind in ipairs(kinds) do
    for _, piece in ipairs(pieces_of(created_ms)) do
      keys[#keys + 1] = K.referrals_due(kind .. ':' .. piece)
    end
  end
  return keys
end

local function index_open_referral(counter, created_ms, due_ms, referral_id)
  for _, key in ipairs(referral_due_keys(counter, created_ms)) do
    redis.call('ZADD', key, due_ms, referral_id)
  end
end

local function unindex_open_referral(counter, created_ms, referral_id)
  for _, key in ipairs(referral_due_keys(counter, created_ms)) do
    redis.call('ZREM', key, referral_id)
  end
end
