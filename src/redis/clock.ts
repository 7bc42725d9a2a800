/**
 * Where Redis time stands on this process's monotonic clock, learnt from replies that carry Redis
 * `TIME`. A call sent at local time `sentAt` whose reply, read at `receivedAt`, says Redis time
 * was `redisMs` bounds the offset (Redis time minus local time): it lies between
 * `redisMs - receivedAt` and `redisMs - sentAt`. The estimate keeps the highest lower bound of
 * the last few seconds (the reply read soonest after Redis ran it), so a Redis instant maps to a
 * local time that is never early as far as the replies tell, and late by no more than that
 * fastest reply's way back: a reply that waited in the socket while the event loop was busy
 * makes no timer late.
 *
 * Used for when to ask Redis, never for what Redis decides: a window closes by Redis time alone,
 * and a close sent early only hears "not yet" (with the time left). A reply that contradicts the
 * estimate (Redis time went back) starts it again from that reply; bounds older than two epochs
 * are forgotten, so clock drift cannot build up.
 *
 * @example
 * ```ts
 * const redisTime = new RedisClock();
 * const sentAt = performance.now();
 * const r = await targets.stage(target, settings, [candidate]);
 * redisTime.sample(sentAt, performance.now(), r.now);
 * setTimeout(close, redisTime.localTimeOf(r.now + r.closesInMs) - performance.now());
 * ```
 */
export class RedisClock {
  private best = -Infinity;
  private previous = -Infinity;
  private epochStart = -Infinity;

  /** @param epochMs How long a lower bound is kept (at least one epoch, at most two). @default 5000 */
  constructor(private readonly epochMs = 5000) {}

  /** Whether a reply has been sampled: before that, {@link localTimeOf} cannot answer. */
  get known(): boolean {
    return this.lower() > -Infinity;
  }

  /** Learns from one reply: sent at `sentAt`, read at `receivedAt` (local ms), Redis time `redisMs`. */
  sample(sentAt: number, receivedAt: number, redisMs: number): void {
    if (!Number.isFinite(sentAt) || !Number.isFinite(receivedAt) || !Number.isFinite(redisMs) || receivedAt < sentAt) return;
    const low = redisMs - receivedAt;
    const high = redisMs - sentAt;
    if (high < this.lower()) {
      // Redis time is behind what earlier replies said: they no longer hold.
      this.best = low;
      this.previous = -Infinity;
      this.epochStart = receivedAt;
      return;
    }
    if (receivedAt - this.epochStart >= this.epochMs) {
      this.previous = receivedAt - this.epochStart < 2 * this.epochMs ? this.best : -Infinity;
      this.best = low;
      this.epochStart = receivedAt;
      return;
    }
    this.best = Math.max(this.best, low);
  }

  /**
   * The local time (ms, the clock of the samples) at which Redis time reaches `redisMs`, never
   * early as far as the samples tell. `Infinity` before the first sample.
   */
  localTimeOf(redisMs: number): number {
    return redisMs - this.lower();
  }

  private lower(): number {
    return Math.max(this.best, this.previous);
  }
}
