import test from 'ava';
import { SimulatedClock } from 'xstate';
import { createArbiter, extendLifecycle, type LifecycleArgs, type LifecyclePatch } from '../../src/index.js';
import { advance } from '../helpers/index.js';

// `npm test` typechecks this file first: each `@ts-expect-error` below fails the typecheck if the
// line it guards compiles, which every one did while a lifecycle function's `context` was `any`.

test('extendLifecycle - a guard sees the operation fields typed, its own context inferred from patch.context, and nothing writable', async (t) => {
  const seen: Array<[string, number, string[]]> = [];
  const lifecycle = extendLifecycle({
    context: { reviewers: ['ana'] as string[], quorum: 1 },
    afterWin: {
      approval: {
        always: {
          target: 'next',
          guard: ({ context }) => {
            const id: string = context.id;
            const priority: number = context.priority;
            const reviewers: readonly string[] = context.reviewers;
            seen.push([id, priority, [...reviewers]]);
            // @ts-expect-error the operation's own fields are read-only
            if (id === '') context.priority = 10;
            // @ts-expect-error so are the patch's own fields
            if (id === '') context.quorum = 2;
            // @ts-expect-error a field the context does not have is an error, not any
            if (id === '') void context.reviewer.length;
            // @ts-expect-error data is unknown until narrowed
            if (id === '') void context.data.amount;
            return context.reviewers.length >= context.quorum;
          },
        },
      },
    },
  });
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, lifecycle });
  const h = arbiter.submit({ target: 't', id: 'op-1', priority: 7, execute: () => 'ran' });
  await advance(clock, 100);
  t.is(await h.result, 'ran');
  t.deepEqual(seen, [['op-1', 7, ['ana']]]);
  await arbiter.stop();
});

test('extendLifecycle - without patch.context, other fields read as unknown; a function context types the steps too', (t) => {
  extendLifecycle({
    afterWin: {
      a: {
        always: {
          target: 'next',
          guard: ({ context }) => {
            const attempt: number = context.attempt;
            // @ts-expect-error an unknown field is unknown, not any
            const n: number = context['somethingElse'];
            return attempt >= 0 && n !== 0;
          },
        },
      },
    },
  });
  const lifecycle = extendLifecycle({
    context: ({ input }) => {
      // @ts-expect-error the input is a frozen copy: read-only
      if (input.id === '') input.id = 'x';
      return { requestedBy: input.target };
    },
    states: { executing: { enterIf: { guard: ({ context }) => context.requestedBy.length > 0, code: 'anonymous' } } },
  });
  t.truthy(lifecycle);
});

test('LifecyclePatch and LifecycleArgs take the patch context type explicitly too', (t) => {
  type Review = { reviewers: string[] };
  const enough = ({ context }: LifecycleArgs<Review>) => context.reviewers.length > 0 && context.target !== '';
  const patch: LifecyclePatch<Review> = {
    context: { reviewers: [] },
    afterWin: { approval: { on: { approve: { target: 'next', guard: enough } } } },
  };
  // @ts-expect-error a guard written for another context does not fit
  const wrong: LifecyclePatch<Review> = { guards: { bad: ({ context }: LifecycleArgs<{ quorum: number }>) => context.quorum > 0 } };
  t.truthy(extendLifecycle(patch));
  t.truthy(wrong);
});
