import test from 'ava';
import { createStore, occ, type Entity } from '../../../src/index.js';

// `npm test` typechecks this file first: each `@ts-expect-error` below fails the typecheck if the
// line it guards compiles, which it did while these methods defaulted to `TData = any`.

type Account = { balance: number };

test('EntityStore - get/update/query/history default to unknown data; a type argument opts in', async (t) => {
  const store = createStore();
  const a = store.create({ balance: 100 });

  // @ts-expect-error the data of an untyped read is unknown, not any
  const unchecked: number = store.get(a.id)!.data.balance;
  const checked: number = store.get<Account>(a.id)!.data.balance;
  t.is(unchecked, checked);

  // @ts-expect-error the draft of an untyped update is unknown
  store.update(a.id, (d) => void (d.balance -= 1));
  store.update<Account>(a.id, (d) => void (d.balance -= 1));

  // @ts-expect-error query predicates see unknown data unless typed
  const rich = store.query((e) => e.data.balance > 0);
  t.is(rich.length, 1);
  const typed: Entity<Account>[] = store.query<Account>((e) => e.data.balance > 0);
  t.is(typed.length, 1);

  // @ts-expect-error history versions are unknown data unless typed
  const first: number = store.history(a.id)[0]!.data.balance;
  t.is(first, 100);
  t.deepEqual(store.history<Account>(a.id).map((v) => v.data.balance), [100, 99, 98]);

  // @ts-expect-error occ's draft is unknown unless typed (by argument or by annotation)
  await occ(store, a.id, (d) => void d.balance++);
  const { entity } = await occ(store, a.id, (d: Account) => void d.balance++);
  t.is(entity.data.balance, 100);
});
