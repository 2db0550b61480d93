-- Accepts the first waiting request in service order.
-- ARGV: prefix, now, clinician_id, clinician_name, idempotency (last)
local again = idem_repeat()
if again then return again end
local first = redis.call('ZRANGE', K.queue, 0, 0)[1]
if not first then return fail('queue_empty') end
return idem_keep(accept(first, ARGV[3], ARGV[4]), first)
