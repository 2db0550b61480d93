-- Accepts the first waiting request in service order.
-- ARGV: prefix, now, clinician_id, clinician_name
local first = redis.call('ZRANGE', K.queue, 0, 0)[1]
if not first then return fail('queue_empty') end
return accept(first, ARGV[3], ARGV[4])
