-- The bid book: every decision on one lot, atomically, where the lot's data lives.
-- A port of auction/lot/rules.py (read its "theory of operation"); the test suite holds the two
-- to identical entries and answers. Keep them in step: change both or neither.
--
-- KEYS (one hash tag, so one cluster slot): 1 cfg, 2 st, 3 bidders, 4 plates, 5 answers,
--   6 log (stream, entry id = seq-0), 7 tokens, 8 plog (a string: the seq of public entry
--   pseq as 4 big-endian bytes at offset 4 * (pseq - 1); an APPEND, cheaper than a stream),
--   9 due (the timer's sorted set; given only on a standalone
--   server, where it may share a script with the lot's keys)
-- ARGV: 1 msgpack list of commands, each {name, args} with name one of tick, bid,
--   continue, accept, deposit, register, credit_check, suspend, resume, terminate, draw,
--   unmask, guarantee, guarantee_confirm, guarantee_revoke, contract, default, refunded;
--   2 now
--   (honoured only for lots created with a manual clock, i.e. by tests); 3 pub/sub channel
--   ('' to publish nothing: the server does, after WAITAOF);
--   4 the lot id (the due set's member); 5 msgpack {reserve, salt} opened by the server for a
--   lot whose reserve the store holds only sealed (cfg.reserve_box, review R9), else empty
-- The commands are decided one after the other, at one `now`, as if sent one by one: a
-- batch only saves the per-call cost when many bids arrive together.
-- Publishes {now, {entry, ...}} (msgpack) on the lot's channel.
-- Returns {answers (msgpack list), state (msgpack), now (ms), entry 1 (msgpack), entry 2,
-- ...}; the entries are the exact bytes appended to the log, which the audit chain hashes.
-- An unknown lot is the error reply `NOT_FOUND lot`.

local NULL = cjson.null
local function nn(v) if v == nil then return NULL end return v end

local cfg_raw = redis.call('GET', KEYS[1])
if not cfg_raw then return redis.error_reply('NOT_FOUND lot') end
local cfg = cmsgpack.unpack(cfg_raw)
-- the reserve and its salt: in the store only sealed, handed over by the server with each
-- call, so the close can settle on them and reveal them (never written back)
local reserve, reserve_salt = cfg.reserve, cfg.reserve_salt
if cfg.reserve_box then
  if not ARGV[5] or ARGV[5] == '' then return redis.error_reply('SEALED reserve not given') end
  local opened = cmsgpack.unpack(ARGV[5])
  reserve, reserve_salt = opened[1], opened[2]
end
local st = cmsgpack.unpack(redis.call('GET', KEYS[2]))
local now
if cfg.manual_clock then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if now < st.ts then now = st.ts end  -- the log's time never runs backwards
local args = {}  -- the current command's arguments; the handlers below read it
local moved = false  -- a phase changed, so the timer's due set must hear of it

local written = {}
local pseqs = {}  -- seq -> pseq of the entries written here, for the answers
-- a bidder's signature of the command being decided: it goes on the first entry the command
-- writes of these kinds (its accepted bid, indicator, continue or accept), nowhere else
local signing = nil
local SIGNED = {bid = true, indicator = true, continue = true, accept = true}
local function add(ts, kind, pub, fields)
  -- seq numbers every entry; pseq the public ones alone (a private one: the count so far)
  st.seq = st.seq + 1
  st.pseq = st.pseq or 0
  if pub then
    st.pseq = st.pseq + 1
    redis.call('APPEND', KEYS[8], struct.pack('>I4', st.seq))
  end
  if ts > st.ts then st.ts = ts end
  fields.seq = st.seq; fields.pseq = st.pseq; fields.ts = st.ts; fields.kind = kind
  fields.pub = pub
  if signing and SIGNED[kind] then fields.sig = signing; signing = nil end
  local packed = cmsgpack.pack(fields)
  redis.call('XADD', KEYS[6], st.seq .. '-0', 'e', packed)
  written[#written + 1] = packed
  pseqs[st.seq] = st.pseq
  return st.seq
end

local function with_pseq(answer)
  -- an answer naming an entry written here (seq) gets that entry's pseq too
  if answer.seq and answer.pseq == nil and pseqs[answer.seq] then
    answer.pseq = pseqs[answer.seq]
  end
  return answer
end

local function get_bidder(id)
  local raw = redis.call('HGET', KEYS[3], id)
  if not raw then return nil end
  return cmsgpack.unpack(raw)
end
local function put_bidder(b) redis.call('HSET', KEYS[3], b.bidder_id, cmsgpack.pack(b)) end
local function all_bidders()
  local out = {}
  for _, raw in ipairs(redis.call('HVALS', KEYS[3])) do out[#out + 1] = cmsgpack.unpack(raw) end
  return out
end

local function refusal(code) error({refused = code}) end

local function after_cap_ms() return (cfg.after_cap_s or cfg.countdown_s) * 1000 end
local function at_cap() return cfg.cap ~= nil and st.price ~= nil and st.price >= cfg.cap end
local function window_open(by)
  -- not past `by` (its own moment included); a suspension begun before it keeps it open
  return (st.held ~= nil and st.held.at <= by) or now <= by
end

-- ---- the clock -------------------------------------------------------------------------

local function set_phase(phase, deadline, ts)
  add(ts, 'phase', true, {phase = phase, deadline = deadline})
  st.phase = phase; st.deadline = deadline; moved = true
end

local function dutch_end()
  local steps = math.ceil((cfg.start_price - cfg.dutch_floor) / cfg.dutch_step)
  return cfg.opens_at + (steps + 1) * cfg.dutch_tick_s * 1000
end

local function dutch_price(t)
  local elapsed = t - cfg.opens_at
  if elapsed < 0 then elapsed = 0 end
  local ticks = math.floor(elapsed / (cfg.dutch_tick_s * 1000))
  return math.max(cfg.dutch_floor, cfg.start_price - ticks * cfg.dutch_step)
end

local function close(due, winner, lottery_plates, terminated, lottery_share, actor, allocated)
  -- terminated: {by, reason} of a lot ended by staff (outcome `terminated`); lottery_share:
  -- the supervisor's, of a drawn lottery; actor: the person who ended or drew it;
  -- allocated: a lot sold by quantity's rows {plate, price, quantity}
  local sold = winner ~= nil
  local outcome = sold and 'sold' or 'failed'
  if terminated then outcome = 'terminated' end
  local plate = nil
  if sold then plate = get_bidder(winner).plate end
  local indicator = nil
  if st.indicator_leader then indicator = st.indicator end
  local salt = nil
  if reserve then salt = reserve_salt end
  local fields = {
    outcome = outcome, price = nn(sold and st.price or nil),
    winner_plate = nn(plate), indicator = nn(indicator), reserve = nn(reserve),
    reserve_salt = nn(salt), lottery_seed = cfg.lottery_seed, lottery_plates = nn(lottery_plates),
    lottery_share = nn(lottery_share), actor = nn(actor),
  }
  if terminated then fields.by = terminated.by; fields.reason = terminated.reason end
  if cfg.quantity then fields.allocated = allocated or {} end
  local winners = {}  -- whose deposits are held toward the price (bidder ids)
  if winner then
    if allocated and #allocated > 0 then
      for i, row in ipairs(allocated) do winners[i] = redis.call('HGET', KEYS[4], row[1]) end
    else
      winners = {winner}
    end
  end
  st.winners = winners
  st.closed_seq = add(due, 'closed', true, fields)
  st.phase = 'closed'; st.deadline = nil; st.outcome = outcome; st.winner = winner
  st.held = nil
  moved = true
end

-- ---- suspension (中止), resumption and termination -------------------------------------

local function suspend(by, reason, actor)
  -- freeze the lot where it stands: its phase and what its deadline had left
  local left = nil
  if st.deadline then left = math.max(0, st.deadline - now) end
  local seq = add(now, 'suspended', true,
    {phase = st.phase, left = nn(left), by = by, reason = reason, actor = nn(actor)})
  st.held = {phase = st.phase, left = left, at = now}
  st.phase = 'suspended'; st.deadline = nil; moved = true
  return seq
end

local function on_suspend()
  if st.phase == 'closed' then return {accepted = false, code = 'PHASE_CLOSED'} end
  if st.phase == 'suspended' then return {accepted = false, code = 'CONFLICT'} end
  return {accepted = true, seq = suspend(args.by, args.reason, args.actor)}
end

local function resume()
  -- 限时 gets a full countdown from now; any other phase gets back what it had left
  local phase, left = st.held.phase, st.held.left
  local deadline = nil
  if phase == 'limited' then deadline = now + cfg.countdown_s * 1000
  elseif left then deadline = now + left end
  local seq = add(now, 'resumed', true,
    {phase = phase, deadline = nn(deadline), by = args.by, reason = args.reason,
     actor = nn(args.actor)})
  local took, since = now - st.held.at, st.held.at
  st.shift = (st.shift or 0) + took
  -- registration and deposits keep what they had left, like the phase
  local apply_by, deposit_by = st.apply_by, st.deposit_by
  if since <= apply_by then apply_by = apply_by + took end
  if since <= deposit_by then deposit_by = deposit_by + took end
  st.apply_by = apply_by; st.deposit_by = deposit_by
  st.phase = phase; st.deadline = deadline; st.held = nil; moved = true
  return {accepted = true, seq = seq, deadline = nn(deadline)}
end

local function on_two_person(action)
  -- the first role's call is logged as asked, the other role's carries it out
  if st.phase == 'closed' or (action == 'resume' and st.phase ~= 'suspended') then
    return {accepted = false, code = 'PHASE_CLOSED'}
  end
  if st.pending == nil or st.pending.action ~= action then
    local seq = add(now, 'requested', false,
      {action = action, by = args.by, reason = args.reason, actor = nn(args.actor)})
    st.pending = {action = action, by = args.by}
    return {accepted = true, seq = seq, pending = action}
  end
  if st.pending.by == args.by then return {accepted = false, code = 'CONFLICT'} end
  st.pending = nil
  if action == 'terminate' then
    close(now, nil, nil, {by = args.by, reason = args.reason}, nil, args.actor)
    return {accepted = true, seq = st.seq}
  end
  return resume()
end

local function on_unmask()
  -- the supervisor's break-glass look (R9): logged in public, with its reason
  if st.phase == 'closed' then return {accepted = false, code = 'PHASE_CLOSED'} end
  local seq = add(now, 'unmasked', true,
    {by = args.by, reason = args.reason, actor = nn(args.actor)})
  return {accepted = true, seq = seq}
end

local function allocate(due)
  -- a lot sold by quantity: its standing bids by unit price, then time, each given what it
  -- asked or what is left (auction/lot/shares.py)
  local ranked, rows, left, first = {}, {}, cfg.quantity, nil
  for _, b in ipairs(all_bidders()) do
    if b.standing then ranked[#ranked + 1] = b end
  end
  table.sort(ranked, function(a, b)
    if a.standing[1] ~= b.standing[1] then return a.standing[1] > b.standing[1] end
    return a.standing[3] < b.standing[3]
  end)
  for _, b in ipairs(ranked) do
    local price, asked = b.standing[1], b.standing[2]
    if left == 0 or (reserve and price < reserve) then break end
    local got = math.min(asked, left)
    rows[#rows + 1] = {b.plate, price, got}
    left = left - got
    first = first or b.bidder_id
  end
  return close(due, first, nil, nil, nil, nil, rows)
end

local function settle(due)
  if cfg.quantity then return allocate(due) end
  if st.leader == nil or (reserve and st.price and st.price < reserve) then
    return close(due, nil, nil)
  end
  return close(due, st.indicator_leader or st.leader, nil)
end

local function settle_sealed(due)
  -- the bids opened (args.opened: bidder id -> price) by the server, with the key (args.key)
  local opened, boxes, valid, void, rows = args.opened, {}, {}, {}, {}
  for _, b in ipairs(all_bidders()) do
    if b.sealed_box then boxes[#boxes + 1] = b end
  end
  table.sort(boxes, function(a, b) return a.sealed_seq < b.sealed_seq end)
  for _, b in ipairs(boxes) do
    local price = opened[b.bidder_id]
    if price and price >= cfg.start_price and (price - cfg.start_price) % cfg.increment == 0 then
      valid[#valid + 1] = {price, b}
    else
      void[#void + 1] = {b.plate, nn(price), b.sealed_seq}
    end
  end
  table.sort(valid, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    return a[2].sealed_seq < b[2].sealed_seq
  end)
  for i, pb in ipairs(valid) do rows[i] = {pb[2].plate, pb[1], pb[2].sealed_seq} end
  add(due, 'revealed', true, {rows = rows, void = void, key = nn(args.key)})
  if #valid > 0 then st.leader = valid[1][2].bidder_id; st.price = valid[1][1] end
  return settle(due)
end

local function pool_plates()
  local plates = {}
  for i, id in ipairs(st.acceptors) do plates[i] = get_bidder(id).plate end
  return plates
end

local function fix_pool(due)
  -- the acceptance window closed: a lone acceptor wins at the cap; a pool is logged and
  -- waits, with no deadline, for the supervisor's draw (R8)
  if #st.acceptors < 2 then return close(due, st.acceptors[1], nil) end
  add(due, 'pool', true, {plates = pool_plates()})
  st.deadline = nil; moved = true
end

local function open(due)
  -- the configured times move on by what suspensions took (st.shift)
  local shift = st.shift or 0
  if cfg.mode == 'sealed' then return set_phase('sealed', cfg.free_ends_at + shift, due) end
  if cfg.mode == 'dutch' then return set_phase('dutch', dutch_end() + shift, due) end
  if cfg.free_ends_at > cfg.opens_at then
    return set_phase('free', cfg.free_ends_at + shift, due)
  end
  return set_phase('limited', due + cfg.countdown_s * 1000, due)
end

local function continued_count()
  local count = 0
  for _, b in ipairs(all_bidders()) do
    if b.continued then count = count + 1 end
  end
  return count
end

local function enough_continued()
  local count = continued_count()
  return count > 0 and count >= (cfg.min_continued or 1)
end

local function expire(due)
  local phase = st.phase
  if phase == 'scheduled' then return open(due) end
  if phase == 'free' and at_cap() then  -- capped before 限时: its procedure starts now
    return set_phase('capped', due + after_cap_ms(), due)
  end
  if phase == 'free' and cfg.mode == 'listing' then
    return set_phase('inquiry', due + cfg.inquiry_s * 1000, due)
  end
  if phase == 'free' then return set_phase('limited', due + cfg.countdown_s * 1000, due) end
  if phase == 'inquiry' and enough_continued() then
    if st.leader then  -- the listing's leader is in the round without asking
      local leader = get_bidder(st.leader)
      leader.continued = true
      put_bidder(leader)
    end
    return set_phase('limited', due + cfg.countdown_s * 1000, due)
  end
  if phase == 'capped' and cfg.after_cap == 'lottery' then return fix_pool(due) end
  if phase == 'dutch' then return close(due, nil, nil) end
  return settle(due)
end

local function advance()
  -- a deadline reached more than late_grace_s late (the platform was down or stalled)
  -- suspends the lot instead: nobody could bid. A sealed lot closes only with its bids
  -- opened (a tick's args.opened): until then it waits at its deadline, taking no bid.
  while st.deadline ~= nil and now >= st.deadline do
    if st.phase ~= 'scheduled' and now - st.deadline > (cfg.late_grace_s or 5) * 1000 then
      suspend('platform', 'platform')
      return
    end
    if st.phase ~= 'sealed' then expire(st.deadline)
    elseif args.opened then settle_sealed(st.deadline)
    else break end
  end
end

-- ---- commands --------------------------------------------------------------------------

local function check_grid(base, price, increment, first)
  -- Under the standing price (or the start) is plainly too low; above it, the grid decides.
  if price < base then refusal('TOO_LOW') end
  if (price - base) % increment ~= 0 then refusal('OFF_INCREMENT') end
  if not first and price == base then refusal('TOO_LOW') end
end

local function bid_price(b, price)
  local capped = cfg.cap and price >= cfg.cap
  if capped then
    price = cfg.cap
  else
    local base = st.price or cfg.start_price
    check_grid(base, price, cfg.increment, st.price == nil)
  end
  if st.phase == 'limited' then st.deadline = now + cfg.countdown_s * 1000 end
  if st.phase == 'free' and not b.quoted then  -- for the listing's entry rule
    b.quoted = true
    put_bidder(b)
  end
  st.price = price; st.leader = b.bidder_id
  local seq = add(now, 'bid', true,
    {plate = b.plate, bid_id = args.bid_id, price = price, phase = st.phase,
     deadline = nn(st.deadline)})
  if capped then  -- the cap's bidder accepts it; in 限时 its procedure starts now (R2)
    st.acceptors = {b.bidder_id}
    if st.phase == 'limited' then set_phase('capped', now + after_cap_ms(), now) end
  end
  return {accepted = true, seq = seq, price = price, deadline = nn(st.deadline)}
end

local function bid_share(b)
  -- a lot sold by quantity (auction/lot/shares.py): a unit price and a quantity, replacing
  -- the bidder's standing bid, whose price it must pass
  local q, least, step = args.quantity, cfg.min_quantity or 1, cfg.quantity_step or 1
  if not cfg.quantity or not q or q < least or q > cfg.quantity or (q - least) % step ~= 0 then
    refusal('BAD_QUANTITY')
  end
  local price, own = args.price, b.standing
  if own then check_grid(own[1], price, cfg.increment, false)
  else check_grid(cfg.start_price, price, cfg.increment, true) end
  if st.phase == 'limited' then st.deadline = now + cfg.countdown_s * 1000 end
  local seq = add(now, 'bid', true,
    {plate = b.plate, bid_id = args.bid_id, price = price, quantity = q, phase = st.phase,
     deadline = nn(st.deadline)})
  b.standing = {price, q, seq}
  put_bidder(b)
  if st.price == nil or price > st.price then st.price = price; st.leader = b.bidder_id end
  return {accepted = true, seq = seq, price = price, quantity = q, deadline = nn(st.deadline)}
end

local function bid_sealed(b)
  -- one sealed bid a bidder; its price is checked against the grid when it is opened
  if b.sealed_box then refusal('ALREADY_SUBMITTED') end
  local seq = add(now, 'bid', false,
    {plate = b.plate, bid_id = args.bid_id, sealed = args.sealed, phase = 'sealed',
     deadline = nn(st.deadline)})
  b.sealed_box = args.sealed; b.sealed_seq = seq
  put_bidder(b)
  return {accepted = true, seq = seq, deadline = nn(st.deadline)}
end

local function accepted_cap(id)
  for _, acceptor in ipairs(st.acceptors) do
    if acceptor == id then return true end
  end
  return false
end

local function bid_indicator(b, value)
  -- who accepted the cap price may go on (R11)
  if not accepted_cap(b.bidder_id) then refusal('NOT_QUALIFIED') end
  check_grid(st.indicator, value, cfg.secondary_increment, false)
  local deadline = now + cfg.countdown_s * 1000
  local seq = add(now, 'indicator', true,
    {plate = b.plate, bid_id = args.bid_id, indicator = value, deadline = deadline})
  st.indicator = value; st.indicator_leader = b.bidder_id; st.deadline = deadline
  return {accepted = true, seq = seq, indicator = value, deadline = deadline}
end

local function decide_bid(b)
  if st.phase == 'suspended' then refusal('SUSPENDED') end
  if st.phase == 'capped' and cfg.after_cap == 'secondary' and args.indicator then
    return bid_indicator(b, args.indicator)
  end
  if args.price and (st.phase == 'capped' or at_cap()) then
    refusal('CAP_REACHED')  -- before 限时 the cap waits for the phase clock (R2)
  end
  local phase = st.phase
  local given = args.price
  if phase == 'sealed' then given = args.sealed end  -- a sealed lot takes sealed bids
  if (phase ~= 'free' and phase ~= 'limited' and phase ~= 'sealed') or not given then
    refusal('PHASE_CLOSED')
  end
  if phase == 'sealed' and now >= st.deadline then refusal('PHASE_CLOSED') end
  if not b.qualified then refusal('NOT_QUALIFIED') end
  if args.sealed then return bid_sealed(b) end
  if phase == 'limited' and cfg.mode == 'listing' and not b.continued then
    refusal('NOT_QUALIFIED')
  end
  if cfg.quantity or args.quantity then return bid_share(b) end
  return bid_price(b, args.price)
end

local function continue_(b)
  if st.phase ~= 'inquiry' then refusal('PHASE_CLOSED') end
  if not b.qualified or (cfg.entry_rule == 'quoted' and not b.quoted) then
    refusal('NOT_QUALIFIED')
  end
  if b.continued then refusal('ALREADY_SUBMITTED') end
  local seq = add(now, 'continue', false, {plate = b.plate})
  b.continued = true
  put_bidder(b)
  return {accepted = true, seq = seq}
end

local function awaiting_draw()
  return st.phase == 'capped' and st.deadline == nil and cfg.after_cap == 'lottery'
end

local function accept(b)
  -- accepting the cap price: the lottery's pool, or the secondary round's bidders (R11)
  local capped = st.phase == 'capped'
  if (st.phase ~= 'dutch' and not capped) or awaiting_draw() then refusal('PHASE_CLOSED') end
  if not b.qualified then refusal('NOT_QUALIFIED') end
  if capped then
    if cfg.mode == 'listing' and not b.continued and continued_count() > 0 then
      refusal('NOT_QUALIFIED')  -- capped in 限时: the pool is its round's (R12)
    end
    if accepted_cap(b.bidder_id) then refusal('ALREADY_SUBMITTED') end
    local seq = add(now, 'accept', false, {plate = b.plate, price = st.price})
    st.acceptors[#st.acceptors + 1] = b.bidder_id
    return {accepted = true, seq = seq, price = st.price}
  end
  local price = dutch_price(now - (st.shift or 0))  -- its clock stood still while suspended
  local seq = add(now, 'accept', false, {plate = b.plate, price = price})
  st.price = price; st.leader = b.bidder_id
  close(now, b.bidder_id, nil)
  return {accepted = true, seq = seq, price = price}
end

-- A bidder command: decided, or refused with one `refused` entry.
local function refusable(b, name, decide)
  local ok, result = pcall(function(bidder)
    if st.phase == 'suspended' then refusal('SUSPENDED') end
    return decide(bidder)
  end, b)
  if ok then return result end
  if type(result) ~= 'table' or not result.refused then error(result) end
  local fields = {plate = b.plate, command = name, code = result.refused}
  if name == 'bid' then
    fields.bid_id = args.bid_id; fields.price = nn(args.price); fields.indicator = nn(args.indicator)
    fields.sealed = nn(args.sealed); fields.quantity = args.quantity
  end
  return {accepted = false, code = result.refused, seq = add(now, 'refused', false, fields)}
end

local function on_bid(b)
  local key = args.bidder_id .. '|' .. args.bid_id
  local first = redis.call('HGET', KEYS[5], key)
  if first then return cmsgpack.unpack(first) end
  local answer = with_pseq(refusable(b, 'bid', decide_bid))
  redis.call('HSET', KEYS[5], key, cmsgpack.pack(answer))
  return answer
end

local function on_deposit(b)
  local key = 'ref|' .. args.ref
  local first = redis.call('HGET', KEYS[5], key)
  if first then  -- a retry gets its first answer; another bidder's ref is a conflict
    first = cmsgpack.unpack(first)
    if first.bidder_id ~= args.bidder_id then return {accepted = false, code = 'CONFLICT'} end
    return first.answer
  end
  if st.phase == 'closed' then return {accepted = false, code = 'PHASE_CLOSED'} end
  if not window_open(st.deposit_by) then return {accepted = false, code = 'DEADLINE_PASSED'} end
  local total = b.deposit + args.amount
  local qualified = (total >= cfg.deposit or b.guaranteed == true) and not b.listed
  local seq = add(now, 'deposit', false, {plate = b.plate, amount = args.amount,
    deposit_kind = args.kind, ref = args.ref, total = total, qualified = qualified,
    actor = nn(args.actor), payer = args.payer})
  local answer = with_pseq({accepted = true, seq = seq, total = total, qualified = qualified})
  st.paid = st.paid or {}
  st.paid[tostring(seq)] = b.bidder_id  -- the refund that returns it is named by its seq
  b.deposit = total; b.qualified = qualified
  put_bidder(b)
  redis.call('HSET', KEYS[5], key, cmsgpack.pack({bidder_id = args.bidder_id, answer = answer}))
  return answer
end

local function on_register()
  if st.phase == 'closed' then return {accepted = false, code = 'PHASE_CLOSED'} end
  if not window_open(st.apply_by) then
    return {accepted = false, code = 'DEADLINE_PASSED'}
  end
  if redis.call('HEXISTS', KEYS[3], args.bidder_id) == 1
    or redis.call('HEXISTS', KEYS[4], args.plate) == 1 then
    return {accepted = false, code = 'CONFLICT'}
  end
  local seq = add(now, 'registered', false,
    {bidder_id = args.bidder_id, plate = args.plate, name = args.name, actor = nn(args.actor),
     public_key = args.public_key})
  put_bidder({bidder_id = args.bidder_id, plate = args.plate, name = args.name, deposit = 0,
    qualified = cfg.deposit == 0, continued = false})
  redis.call('HSET', KEYS[4], args.plate, args.bidder_id)
  redis.call('HSET', KEYS[7], args.token_hash, args.bidder_id)
  return {accepted = true, seq = seq, plate = args.plate}
end

local function on_credit_check()
  -- auction/lot/admission.py credit_check: logged (for the staff alone: no plate) while what
  -- it checks for is open; at a deposit the bidder is marked listed or clear
  if st.phase == 'closed' then return {accepted = false, code = 'PHASE_CLOSED'} end
  local by = st.deposit_by
  if args.at == 'register' then by = st.apply_by end
  if not window_open(by) then return {accepted = false, code = 'DEADLINE_PASSED'} end
  local b = nil
  if args.bidder_id then
    b = get_bidder(args.bidder_id)
    if b == nil then return {accepted = false, code = 'NOT_FOUND'} end
  end
  local listing, result = NULL, 'passed'
  if args.listing then
    listing = {source = args.listing.source, from = args.listing.from,
      ['until'] = nn(args.listing['until'])}
    result = 'listed'
  end
  local seq = add(now, 'credit_check', false, {party = args.party, at = args.at,
    bidder_id = nn(args.bidder_id), result = result, listing = listing})
  if b then b.listed = args.listing ~= nil; put_bidder(b) end
  return {accepted = true, seq = seq, listed = args.listing ~= nil}
end

local function on_draw()
  -- the supervisor's draw: SHA-1 of seed | share | plates, its first 48 bits modulo the
  -- pool's size (auction/lot/commit.py lottery_index)
  if st.phase == 'suspended' then return {accepted = false, code = 'SUSPENDED'} end
  if not awaiting_draw() then return {accepted = false, code = 'PHASE_CLOSED'} end
  local plates = pool_plates()
  local digest = redis.sha1hex(cfg.lottery_seed .. '|' .. args.share .. '|'
    .. table.concat(plates, ','))
  local index = tonumber(string.sub(digest, 1, 12), 16) % #plates
  close(now, st.acceptors[index + 1], plates, nil, args.share, args.actor)
  return {accepted = true, seq = st.closed_seq, winner_plate = plates[index + 1]}
end

-- ---- 电子保函 (auction/lot/guarantees.py) -----------------------------------------------

local function day_of(ms) return math.floor((ms + 28800000) / 86400000) end  -- Beijing's day

local function day_number(text)
  -- 'YYYY-MM-DD' as days since 1970-01-01 (the proleptic Gregorian calendar, as Python's)
  local y, m, d = string.match(text, '^(%d%d%d%d)-(%d%d)-(%d%d)$')
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end

local function shut(by)
  -- why a money command may not be decided now: the close, or the deadline `by` passed
  if st.phase == 'closed' then return 'PHASE_CLOSED' end
  if by and not window_open(by) then return 'DEADLINE_PASSED' end
  return nil
end

local function on_guarantee(b)
  local why = shut(st.deposit_by)
  if why then return {accepted = false, code = why} end
  st.guarantees = st.guarantees or {}
  if st.guarantees[args.number] then return {accepted = false, code = 'CONFLICT'} end
  if args.amount < cfg.deposit then return {accepted = false, code = 'GUARANTEE_SHORT'} end
  if day_number(args.valid_until) < day_of(cfg.free_ends_at) + 30 then
    return {accepted = false, code = 'GUARANTEE_EXPIRES'}
  end
  local seq = add(now, 'guarantee', false, {plate = b.plate, number = args.number,
    issuer = args.issuer, amount = args.amount, valid_until = args.valid_until,
    actor = nn(args.actor)})
  st.guarantees[args.number] = {bidder_id = b.bidder_id, amount = args.amount,
    valid_until = args.valid_until, seq = seq, status = 'filed'}
  return {accepted = true, seq = seq}
end

local BIDDING = {free = true, inquiry = true, limited = true, capped = true, dutch = true,
  sealed = true}

local function could_win(b)
  -- whether the bidder holds a bid the close could make a winner of
  if b.bidder_id == st.leader or b.bidder_id == st.indicator_leader then return true end
  for _, id in ipairs(st.acceptors or {}) do
    if id == b.bidder_id then return true end
  end
  return b.standing ~= nil or b.sealed_box ~= nil
end

local function on_guarantee_said(name)
  -- the issuer confirms (before the deposit deadline) or revokes (before the close)
  local filed = (st.guarantees or {})[args.number]
  if not filed then return {accepted = false, code = 'NOT_FOUND'} end
  local b = get_bidder(filed.bidder_id)
  local status, by = 'confirmed', st.deposit_by
  if name == 'guarantee_revoke' then status, by = 'revoked', nil end
  local why = shut(by)
  if why then return {accepted = false, code = why} end
  if (status == 'confirmed' and filed.status ~= 'filed') or filed.status == 'revoked' then
    return {accepted = false, code = 'ALREADY_SUBMITTED'}
  end
  filed.status = status
  local guaranteed = false
  for _, g in pairs(st.guarantees) do
    if g.bidder_id == b.bidder_id and g.status == 'confirmed' then guaranteed = true end
  end
  b.guaranteed = guaranteed
  b.qualified = (b.deposit >= cfg.deposit or guaranteed) and not b.listed
  put_bidder(b)
  local seq = add(now, 'guarantee_' .. status, false, {plate = b.plate, number = args.number,
    qualified = b.qualified, actor = nn(args.actor)})
  -- a bidder who could win left without security: the staff decide (auction/lot/guarantees.py)
  if not b.qualified and BIDDING[st.phase] and could_win(b) then
    suspend('platform', 'guarantee_revoked')
  end
  return {accepted = true, seq = seq, qualified = b.qualified}
end

-- ---- money after the close (auction/lot/settlement.py) ---------------------------------

local function unsold()
  if st.phase ~= 'closed' or st.outcome ~= 'sold' then return 'PHASE_CLOSED' end
  if st.settled then return 'ALREADY_SUBMITTED' end
  return nil
end

local function on_contract()
  local why = unsold()
  if why then return {accepted = false, code = why} end
  local seq = add(now, 'contract', false, {actor = nn(args.actor)})
  st.settled = 'contract'
  return {accepted = true, seq = seq}
end

local function on_default()
  -- two people: the first role's call is asked, the other role's records it
  local why = unsold()
  if why then return {accepted = false, code = why} end
  if st.pending == nil or st.pending.action ~= 'default' then
    local seq = add(now, 'requested', false,
      {action = 'default', by = args.by, reason = args.reason, actor = nn(args.actor)})
    st.pending = {action = 'default', by = args.by}
    return {accepted = true, seq = seq, pending = 'default'}
  end
  if st.pending.by == args.by then return {accepted = false, code = 'CONFLICT'} end
  local seq = add(now, 'defaulted', false,
    {by = args.by, reason = args.reason, actor = nn(args.actor)})
  st.pending = nil; st.settled = 'default'
  return {accepted = true, seq = seq}
end

local function on_refunded()
  if st.phase ~= 'closed' then return {accepted = false, code = 'PHASE_CLOSED'} end
  local owner = (st.paid or {})[tostring(args.seq)]
  if not owner then
    for _, g in pairs(st.guarantees or {}) do
      if g.seq == args.seq and g.status == 'confirmed' then owner = g.bidder_id end
    end
  end
  if not owner then return {accepted = false, code = 'NOT_FOUND'} end
  for _, id in ipairs(st.winners or {}) do
    if id == owner and st.settled ~= 'contract' then
      return {accepted = false, code = 'NOT_READY'}  -- held toward the price, or forfeited
    end
  end
  st.refunded = st.refunded or {}
  local was = st.refunded[tostring(args.seq)]
  if was == 'done' or was == args.status then return {accepted = false, code = 'ALREADY_SUBMITTED'} end
  local seq = add(now, 'refund', false, {plate = get_bidder(owner).plate, refund = args.seq,
    status = args.status, actor = nn(args.actor)})
  st.refunded[tostring(args.seq)] = args.status
  return {accepted = true, seq = seq}
end

-- ---- dispatch --------------------------------------------------------------------------

local function decide(name)
  if name == 'register' then return on_register() end
  if name == 'credit_check' then return on_credit_check() end
  if name == 'tick' then return {} end
  if name == 'suspend' then return on_suspend() end
  if name == 'resume' or name == 'terminate' then return on_two_person(name) end
  if name == 'draw' then return on_draw() end
  if name == 'unmask' then return on_unmask() end
  if name == 'guarantee_confirm' or name == 'guarantee_revoke' then
    return on_guarantee_said(name)
  end
  if name == 'contract' then return on_contract() end
  if name == 'default' then return on_default() end
  if name == 'refunded' then return on_refunded() end
  local b = get_bidder(args.bidder_id)
  if b == nil then return {accepted = false, code = 'NOT_FOUND'} end
  if name == 'bid' then return on_bid(b) end
  if name == 'continue' then return refusable(b, 'continue', continue_) end
  if name == 'accept' then return refusable(b, 'accept', accept) end
  if name == 'deposit' then return on_deposit(b) end
  if name == 'guarantee' then return on_guarantee(b) end
  return {accepted = false, code = 'BAD_MESSAGE'}
end

local answers = {}
for i, command in ipairs(cmsgpack.unpack(ARGV[1])) do
  args = command[2] or {}
  advance()
  signing = args.sig
  answers[i] = with_pseq(decide(command[1]))
  signing = nil
end

local packed_state = cmsgpack.pack(st)
if #written > 0 then
  redis.call('SET', KEYS[2], packed_state)
  -- no channel: the server publishes once the replicas have the entries (LotBook.ack_replicas)
  if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], cmsgpack.pack({now, written})) end
  -- Bids only push a deadline later; a due time left early costs the timer one idle tick.
  if moved and KEYS[9] and not cfg.manual_clock then
    if st.deadline then redis.call('ZADD', KEYS[9], st.deadline, ARGV[4])
    else redis.call('ZREM', KEYS[9], ARGV[4]) end
  end
end
local reply = {cmsgpack.pack(answers), packed_state, now}
for i, e in ipairs(written) do reply[i + 3] = e end
return reply
