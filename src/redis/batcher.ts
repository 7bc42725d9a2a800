import type { ChainableCommander, Cluster, Redis } from 'ioredis';

/** A client the Redis backend can use: a standalone connection or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Counts of what a {@link CommandBatcher} sent.
 *
 * @example
 * ```ts
 * const perOp = batcher.stats.commands / operations;
 * ```
 */
export interface BatchStats {
  /** Commands sent (one script call counts one, however many candidates it carries). */
  commands: number;
  /** Pipelines sent: one write, one wait for all the replies. */
  roundTrips: number;
}

interface Entry {
  write(pipeline: ChainableCommander): void;
  settle(error: Error | null, reply: unknown): void;
}

/**
 * Sends every command queued in one event-loop turn as one pipeline (one round trip): the turn's
 * work is collected until `setImmediate`, then written at once, in the order it was queued. A
 * command's `write` runs when the pipeline is built, so a caller can keep adding to a queued
 * command until then (all candidates of one target in one script call).
 *
 * A turn's pipeline is written at the end of that turn even while earlier pipelines wait for
 * their replies: Redis runs the commands of one connection in the order they were written, so
 * order holds, and no command waits for another's round trip before it leaves.
 *
 * @example
 * ```ts
 * const batcher = new CommandBatcher(client);
 * const [a, b] = await Promise.all([
 *   batcher.add((p) => p.get('a'), String),
 *   batcher.add((p) => p.get('b'), String), // same pipeline
 * ]);
 * ```
 */
export class CommandBatcher {
  readonly stats: BatchStats = { commands: 0, roundTrips: 0 };
  private queue: Entry[] = [];
  private scheduled = false;
  /** Pipelines written and not yet answered (nor timed out). */
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param timeoutMs A pipeline whose replies have not all come back after this long fails every
   * command in it (a paused or unreachable Redis must not leave callers waiting for ever; replies
   * that arrive later are ignored). @default no bound
   */
  constructor(
    private readonly client: RedisClient,
    private readonly timeoutMs?: number,
  ) {}

  /** Queues one command; `parse` turns its reply into the promised value (a throw rejects it). */
  add<T>(write: (pipeline: ChainableCommander) => void, parse: (reply: unknown) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        write,
        settle: (error, reply) => {
          if (error) {
            reject(error);
            return;
          }
          try {
            resolve(parse(reply));
          } catch (err) {
            reject(err);
          }
        },
      });
      this.schedule();
    });
  }

  /** Makes sure a flush is scheduled for the end of this turn. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /**
   * Sends what is queued now as one pipeline (normally called by the scheduled flush); resolves
   * once its replies are in (or it failed). Nothing queued: resolves at once.
   */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.queue.length === 0) return Promise.resolve();
    const sent = this.send();
    this.inFlight.add(sent);
    // send() never rejects: its failures settle the commands it carried.
    void sent.then(() => this.inFlight.delete(sent));
    return sent;
  }

  /** Resolves once everything queued so far has been sent and answered (or has failed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      void this.flush();
      await Promise.all([...this.inFlight]);
    }
  }

  private async send(): Promise<void> {
    const queued = this.queue;
    this.queue = [];
    const pipeline = this.client.pipeline();
    const entries: Entry[] = [];
    for (const e of queued) {
      try {
        e.write(pipeline);
        entries.push(e);
      } catch (err) {
        // A command that cannot be written (it adds nothing to the pipeline) fails alone.
        e.settle(err instanceof Error ? err : new Error(String(err)), undefined);
      }
    }
    if (entries.length === 0) return;
    this.stats.commands += entries.length;
    this.stats.roundTrips++;
    let results: [Error | null, unknown][] | null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const exec = pipeline.exec();
      if (this.timeoutMs === undefined) results = await exec;
      else {
        exec.catch(() => undefined);
        const ms = this.timeoutMs;
        results = await Promise.race([
          exec,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
          }),
        ]);
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const e of entries) e.settle(error, undefined);
      return;
    } finally {
      clearTimeout(timer);
    }
    entries.forEach((e, i) => {
      const r = results?.[i];
      if (r) e.settle(r[0], r[1]);
      else e.settle(new Error('Redis pipeline returned no reply for this command'), undefined);
    });
  }
}
