-- Append leaves to the transparency log's Merkle tree, compare-and-set on its size.
-- KEYS: 1 the tree's size, 2..L+1 one string per level (32-byte node hashes, by index),
--       then per log whose entries these leaves are: its index (8-byte leaf indices, by
--       seq) and its hash of entry digest -> leaf index and chain hash (8 + 32 bytes)
-- ARGV: 1 the size the caller read, 2 the new size, 3 the number of levels L,
--       4..L+3 the bytes to append to each level, then per log: the seq of its first new
--       leaf, the bytes to append to its index, its new entries' SHA-256 digests and
--       their chain hashes (32 bytes each)
-- Returns the size afterwards; a caller that raced another sees its old size unchanged.
local size = tonumber(redis.call('GET', KEYS[1]) or '0')
if size ~= tonumber(ARGV[1]) then return size end
local levels = tonumber(ARGV[3])
local logs = (#KEYS - 1 - levels) / 2
for i = 1, logs do
  local have = redis.call('STRLEN', KEYS[levels + 2 * i]) / 8
  if have + 1 ~= tonumber(ARGV[3 + levels + 4 * i - 3]) then return size end
end
for i = 1, levels do
  if #ARGV[3 + i] > 0 then redis.call('APPEND', KEYS[1 + i], ARGV[3 + i]) end
end
for i = 1, logs do
  local at = 3 + levels + 4 * i
  local indices, digests, chains = ARGV[at - 2], ARGV[at - 1], ARGV[at]
  redis.call('APPEND', KEYS[levels + 2 * i], indices)
  for j = 0, #digests / 32 - 1 do
    redis.call('HSET', KEYS[levels + 2 * i + 1], string.sub(digests, 32 * j + 1, 32 * j + 32),
      string.sub(indices, 8 * j + 1, 8 * j + 8) .. string.sub(chains, 32 * j + 1, 32 * j + 32))
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return tonumber(ARGV[2])
