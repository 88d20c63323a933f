-- Extend a lot's audit hash chain, compare-and-set: only from where it stands now.
-- KEYS: 1 chain hash (field 'n' = last chained seq, 'h' = head, and one field per seq)
-- ARGV: 1 first seq, 2 the head it extends, 3.. one hex hash per entry from the first seq
-- Returns the seq the chain stands at afterwards; a caller that raced another sees it moved.
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local head = redis.call('HGET', KEYS[1], 'h') or ''
local first = tonumber(ARGV[1])
if first ~= n + 1 or ARGV[2] ~= head then return n end
for i = 3, #ARGV do redis.call('HSET', KEYS[1], first + i - 3, ARGV[i]) end
redis.call('HSET', KEYS[1], 'n', first + #ARGV - 3, 'h', ARGV[#ARGV])
return first + #ARGV - 3
