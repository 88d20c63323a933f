-- Keep or drop an opening's envelope blob, counting bytes (see server/store/openings.py).
-- KEYS: 1 the blobs (hash: "bidder_id:digest" -> msgpack [nonce, ciphertext]),
--   2 the byte counts (hash: "up:bidder_id" uploaded so far, "held:bidder_id" held now,
--   "stored" held now by the whole opening), 3 the opening's state (msgpack; drop only)
-- ARGV: 1 "put" or "drop", 2 bidder_id, 3 digest, 4 the blob (put only),
--   5 the bidder's upload budget in bytes, 6 the opening's stored bytes cap (put only)
-- put returns "OK", "BUDGET" (the bidder has uploaded its budget) or "FULL" (the opening
-- would hold more than its cap, not counting what the bidder holds now, which the new
-- envelope replaces); nothing is changed unless "OK". drop returns 1 when a blob went; it
-- never drops the tenderer's current envelope as the state holds it now (two submits of one
-- tenderer may decide in either order: whichever is current keeps its blob).
local field = ARGV[2] .. ':' .. ARGV[3]
local held = 'held:' .. ARGV[2]
local function count(name) return tonumber(redis.call('HGET', KEYS[2], name) or '0') end
if ARGV[1] == 'drop' then
  local old = redis.call('HGET', KEYS[1], field)
  if not old then return 0 end
  local state = redis.call('GET', KEYS[3])
  if state then
    for _, t in ipairs(cmsgpack.unpack(state).tenderers) do
      if t.bidder_id == ARGV[2] and t.envelope == ARGV[3] then return 0 end
    end
  end
  redis.call('HDEL', KEYS[1], field)
  redis.call('HINCRBY', KEYS[2], 'stored', -#old)
  redis.call('HINCRBY', KEYS[2], held, -#old)
  return 1
end
if redis.call('HEXISTS', KEYS[1], field) == 1 then return 'OK' end  -- the same one again
local size = #ARGV[4]
if count('up:' .. ARGV[2]) + size > tonumber(ARGV[5]) then return 'BUDGET' end
if count('stored') - count(held) + size > tonumber(ARGV[6]) then return 'FULL' end
redis.call('HINCRBY', KEYS[2], 'up:' .. ARGV[2], size)
redis.call('HINCRBY', KEYS[2], 'stored', size)
redis.call('HINCRBY', KEYS[2], held, size)
redis.call('HSET', KEYS[1], field, ARGV[4])
return 'OK'
