-- Append an opening's decided entries, compare-and-set on its seq (see server/store/openings.py).
-- KEYS: 1 state, 2 log (stream, entry id = seq-0), 3 plog (the public entries' seqs, 4
--   big-endian bytes each, in pseq order: see lot.lua)
-- ARGV: 1 the seq the decision was made on (0: create), 2 the new state (msgpack),
--   3 pub/sub channel ('' to publish nothing: the server does, once replicated), 4 now (ms), 5.. the entries (msgpack), numbered from ARGV[1] + 1
-- Returns 1 when appended; 0 when another process appended first (decide again).
local stored = redis.call('GET', KEYS[1])
local seq = 0
if stored then seq = cmsgpack.unpack(stored).seq end
if seq ~= tonumber(ARGV[1]) then return 0 end
local entries = {}
for i = 5, #ARGV do
  redis.call('XADD', KEYS[2], (seq + i - 4) .. '-0', 'e', ARGV[i])
  local entry = cmsgpack.unpack(ARGV[i])
  if entry.pub then redis.call('APPEND', KEYS[3], struct.pack('>I4', entry.seq)) end
  entries[#entries + 1] = ARGV[i]
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], cmsgpack.pack({tonumber(ARGV[4]), entries}))
end
return 1
