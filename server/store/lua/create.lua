-- Create a lot: its config (with the secrets), its first state, and the `created` entry.
-- KEYS: 1 cfg, 2 st, 3 log, 4 plog (public entries: pseq -> seq, see lot.lua), 5 due (sorted set,
--   standalone only; may be absent)
-- ARGV: 1 msgpack config, 2 msgpack created-entry fields, 3 now (manual clock only), 4 channel
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('CONFLICT lot exists') end
local cfg = cmsgpack.unpack(ARGV[1])
local now
if cfg.manual_clock then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local entry = cmsgpack.unpack(ARGV[2])
if entry.reserve_commitment == nil then entry.reserve_commitment = cjson.null end
entry.seq = 1; entry.pseq = 1; entry.ts = now; entry.kind = 'created'; entry.pub = true
local packed = cmsgpack.pack(entry)
-- registration and deposit deadlines (suspensions move them on: lot.lua's resume)
local st = {phase = 'scheduled', deadline = cfg.opens_at, seq = 1, pseq = 1, ts = now,
  indicator = 0, acceptors = {}, apply_by = cfg.apply_ends_at or cfg.free_ends_at,
  deposit_by = cfg.deposit_ends_at or cfg.free_ends_at}
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], cmsgpack.pack(st))
redis.call('XADD', KEYS[3], '1-0', 'e', packed)
redis.call('APPEND', KEYS[4], struct.pack('>I4', 1))
if KEYS[5] and not cfg.manual_clock then redis.call('ZADD', KEYS[5], cfg.opens_at, ARGV[5]) end
redis.call('PUBLISH', ARGV[4], cmsgpack.pack({now, {packed}}))
return {cmsgpack.pack({{accepted = true, seq = 1, pseq = 1}}), cmsgpack.pack(st), now, packed}
