/**
 * A `validating` step: right after admission, before the operation is staged in its target's
 * window, its payload is checked. A bad payload is rejected with the custom code
 * `invalid-payload` and never competes, never runs and never holds a target; its staging capacity
 * is given back at once.
 *
 * Run it: `npx tsx examples/validating.ts`
 */
import { pathToFileURL } from 'node:url';
import { createArbiter, extendLifecycle, OperationRejectedError } from '../src/index.js';

/** What a transfer carries in `data`. */
export interface Transfer {
  readonly from: string;
  readonly to: string;
  readonly amount: number;
}

/** Why a payload is not a valid transfer, or `undefined` when it is. */
export function transferProblem(data: unknown): string | undefined {
  const d = data as Partial<Transfer> | null | undefined;
  if (!d || typeof d !== 'object') return 'the payload is not an object';
  if (typeof d.from !== 'string' || typeof d.to !== 'string') return '`from` and `to` must be account ids';
  if (d.from === d.to) return '`from` and `to` must differ';
  if (typeof d.amount !== 'number' || !Number.isFinite(d.amount) || d.amount <= 0) return '`amount` must be a positive number';
  return undefined;
}

/** The operation lifecycle with a `validating` step between admission and staging. */
export const validatingLifecycle = extendLifecycle({
  beforeStaged: {
    validating: {
      description: 'admitted; the payload is checked before it competes',
      always: [
        { guard: 'validTransfer', target: 'next' },
        {
          target: 'rejected',
          code: 'invalid-payload',
          reason: ({ context }) => `invalid transfer: ${transferProblem(context.data)}`,
        },
      ],
    },
  },
  guards: { validTransfer: ({ context }) => transferProblem(context.data) === undefined },
});

async function main(): Promise<void> {
  const arbiter = createArbiter({ lifecycle: validatingLifecycle, windowMs: 20 });
  const balances = new Map([['a', 100], ['b', 0]]);
  const transfer = (data: unknown) =>
    arbiter.submit({
      target: 'a',
      type: 'transfer',
      data,
      execute: async ({ data: t }) => {
        const { from, to, amount } = t as Transfer;
        balances.set(from, (balances.get(from) ?? 0) - amount);
        balances.set(to, (balances.get(to) ?? 0) + amount);
        return balances.get(from);
      },
    });
  const handles = [transfer({ from: 'a', to: 'b', amount: 30 }), transfer({ from: 'a', to: 'a', amount: 5 }), transfer({ amount: 'lots' })];
  for (const h of handles) {
    try {
      console.log(`${h.id.slice(-6)}: balance of a is now ${String(await h.result)}`);
    } catch (err) {
      if (err instanceof OperationRejectedError) console.log(`${h.id.slice(-6)}: ${err.code}: ${err.reason}`);
      else throw err;
    }
  }
  console.log('rejections by code:', Object.fromEntries(Object.entries(arbiter.metrics().rejectedByCode).filter(([, n]) => n > 0)));
  await arbiter.stop();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
