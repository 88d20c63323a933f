-- Append leaves to the transparency log's Merkle tree, compare-and-set on its size.
-- KEYS: 1 the tree's size, 2..L+1 one string per level (32-byte node hashes, by index),
--       L+2.. one string per log whose entries these leaves are (8-byte leaf indices, by seq)
-- ARGV: 1 the size the caller read, 2 the new size, 3 the number of levels L,
--       4..L+3 the bytes to append to each level, then per log: the seq of its first new
--       leaf and the bytes to append to its index
-- Returns the size afterwards; a caller that raced another sees its old size unchanged.
local size = tonumber(redis.call('GET', KEYS[1]) or '0')
if size ~= tonumber(ARGV[1]) then return size end
local levels = tonumber(ARGV[3])
local logs = #KEYS - 1 - levels
for i = 1, logs do
  local have = redis.call('STRLEN', KEYS[1 + levels + i]) / 8
  if have + 1 ~= tonumber(ARGV[3 + levels + 2 * i - 1]) then return size end
end
for i = 1, levels do
  if #ARGV[3 + i] > 0 then redis.call('APPEND', KEYS[1 + i], ARGV[3 + i]) end
end
for i = 1, logs do redis.call('APPEND', KEYS[1 + levels + i], ARGV[3 + levels + 2 * i]) end
redis.call('SET', KEYS[1], ARGV[2])
return tonumber(ARGV[2])
