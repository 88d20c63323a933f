-- A new party in the library, one per credit code (server/store/parties.py).
-- KEYS: 1 people, 2 tokens, 3 codes. ARGV: 1 party_id, 2 the token's SHA-256, 3 the credit
-- code, 4 the packed record. Returns 1, or 0 (nothing written) when the code has a party.
if redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
