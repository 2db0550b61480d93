-- The time of the step: ARGV[2], epoch milliseconds, as every lifecycle script gets it.
local NOW = tonumber(ARGV[2])
