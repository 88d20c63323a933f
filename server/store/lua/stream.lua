-- Where an opening's livestream is held (server/store/streams.py): the record of the worker
-- holding it. KEYS[1] the record; ARGV[1] 'claim' or 'release', ARGV[2] this worker's record,
-- ARGV[3] (claim) its time to live in ms.
-- claim: kept while it is ours, made again when missing, never written over another's: 1 or 0
-- release: deleted only while it is still ours: 1 or 0
local held = redis.call('GET', KEYS[1])
if ARGV[1] == 'claim' then
  if held and held ~= ARGV[2] then return 0 end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if held == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0
