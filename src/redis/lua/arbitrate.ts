/**
 * The arbitration rules in Lua: the same algorithm as `arbitrate()` in src/arbitration.ts with
 * the default selector, so that a window closed in Redis decides what a window closed in memory
 * would. A property test feeds both the same random inputs and requires the same decisions.
 *
 * - winner: the highest effective priority; ties go to the lowest `order` (a Redis-assigned
 *   per-target counter: the earliest staged). One linear pass, strict comparison, as
 *   `defaultSelectWinner`;
 * - losers: every other candidate;
 * - no holders, or `concurrent`: start;
 * - `queue`: hold while anything holds the target;
 * - otherwise (`preempt`): start and preempt every holder when each is past the grace period
 *   (`now - startedAt >= grace`) and has a strictly lower effective priority, else hold.
 *
 * Candidates are tables `{ id, eff, order, … }`, holders `{ id, eff, startedAt, … }`; `now`,
 * `startedAt` and `grace` share one unit (microseconds in the target scripts).
 */
export const ARBITRATE_LUA = `
local function beats(a, b)
  if a.eff ~= b.eff then return a.eff > b.eff end
  return a.order < b.order
end

local function arbitrate(cands, holders, policy, grace, now)
  if #cands == 0 then return { kind = 'empty' } end
  local winner = nil
  for _, c in ipairs(cands) do
    if winner == nil or beats(c, winner) then winner = c end
  end
  local losers = {}
  for _, c in ipairs(cands) do
    if c ~= winner then losers[#losers + 1] = c end
  end
  if #holders == 0 or policy == 'concurrent' then
    return { kind = 'start', winner = winner, losers = losers, preempt = {} }
  end
  if policy == 'queue' then
    return { kind = 'hold', winner = winner, losers = losers, blockedBy = holders }
  end
  for _, h in ipairs(holders) do
    if not (now - h.startedAt >= grace and h.eff < winner.eff) then
      return { kind = 'hold', winner = winner, losers = losers, blockedBy = holders }
    end
  end
  return { kind = 'start', winner = winner, losers = losers, preempt = holders }
end
`;
