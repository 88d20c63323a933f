-- Keep a signed checkpoint as the latest unless one of a larger tree is kept already.
-- KEYS: 1 the checkpoint hash (fields 'size', 'note'). ARGV: 1 tree size, 2 the signed note
local size = tonumber(redis.call('HGET', KEYS[1], 'size') or '-1')
if tonumber(ARGV[1]) > size then redis.call('HSET', KEYS[1], 'size', ARGV[1], 'note', ARGV[2]) end
return size
