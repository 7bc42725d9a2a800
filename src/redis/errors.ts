/** Why a fencing token no longer holds its target. */
export type StaleFenceReason = 'superseded' | 'expired' | 'released';

/**
 * A write carried a fencing token that no longer holds its target: a newer token was issued
 * (`superseded`: the lease expired or was preempted and someone else won), the lease ran out and
 * nobody took over yet (`expired`), or no lease with that token is live (`released`). The write
 * changed nothing. It is not retryable: the operation lost its lease, so any retry would be a
 * zombie's write.
 *
 * @example
 * ```ts
 * try {
 *   await store.update(id, (d) => { d.balance -= 10; }, { fence: args.fence });
 * } catch (err) {
 *   if (err instanceof StaleFenceError) console.log(err.token, err.currentToken, err.reason);
 * }
 * ```
 */
export class StaleFenceError extends Error {
  override readonly name = 'StaleFenceError';
  readonly code = 'stale-fence' as const;
  readonly target: string;
  readonly token: number;
  /** The newest token issued on the target, if any. */
  readonly currentToken: number | undefined;
  readonly reason: StaleFenceReason;

  constructor(info: { target: string; token: number; currentToken: number | undefined; reason: StaleFenceReason }) {
    super(
      `fencing token ${info.token} no longer holds target ${info.target} (${info.reason}` +
        `${info.currentToken !== undefined && info.currentToken !== info.token ? `; newest token ${info.currentToken}` : ''}): the write was refused`,
    );
    this.target = info.target;
    this.token = info.token;
    this.currentToken = info.currentToken;
    this.reason = info.reason;
  }
}
