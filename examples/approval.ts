/**
 * An approval step: after an operation wins its target, it waits in `approval` until someone sends
 * `approve` or `deny` through `handle.send(event)`, or rejects `approval-timeout` after
 * `approvalTimeout` ms. While it waits it holds the target (a higher-priority operation may still
 * preempt it), so nothing else runs on that target and nothing is executed without a decision.
 *
 * Run it: `npx tsx examples/approval.ts`
 */
import { pathToFileURL } from 'node:url';
import { assign } from 'xstate';
import { createArbiter, extendLifecycle, OperationRejectedError, Priority } from '../src/index.js';

/** The operation lifecycle with an `approval` step between winning and executing. */
export const approvalLifecycle = extendLifecycle({
  afterWin: {
    approval: {
      description: 'won its target; waits for a reviewer',
      on: {
        approve: { target: 'next', actions: 'recordReviewer' },
        deny: {
          target: 'rejected',
          code: 'denied',
          reason: ({ event }) => `denied by ${String(event['by'] ?? 'a reviewer')}`,
        },
      },
      after: {
        approvalTimeout: { target: 'rejected', code: 'approval-timeout', reason: 'nobody decided in time' },
      },
    },
  },
  context: { approvedBy: undefined as string | undefined },
  actions: { recordReviewer: assign({ approvedBy: ({ event }) => (event as { by?: string }).by }) },
  delays: { approvalTimeout: 2_000 },
});

async function main(): Promise<void> {
  const arbiter = createArbiter({ lifecycle: approvalLifecycle, windowMs: 20 });
  const submit = (target: string, what: string, decide: (h: { send(e: { type: 'approve' | 'deny'; by: string }): void }) => void) => {
    const handle = arbiter.submit({ target, type: what, priority: Priority.NORMAL, execute: async () => `${what} done` });
    // The reviewer reacts when the operation reaches `approval` (i.e. it has won its target).
    void handle.reached('approval').then((there) => {
      if (there) setTimeout(() => decide(handle), 10);
    });
    return handle;
  };
  const published = submit('doc-1', 'publish', (h) => h.send({ type: 'approve', by: 'ada' }));
  const deleted = submit('doc-2', 'delete', (h) => h.send({ type: 'deny', by: 'bob' }));
  for (const [name, h] of [['publish', published], ['delete', deleted]] as const) {
    try {
      console.log(`${name}: ${String(await h.result)}`);
    } catch (err) {
      if (err instanceof OperationRejectedError) console.log(`${name}: rejected ${err.code} (${err.reason})`);
      else throw err;
    }
  }
  console.log('rejections by code:', Object.fromEntries(Object.entries(arbiter.metrics().rejectedByCode).filter(([, n]) => n > 0)));
  await arbiter.stop();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
