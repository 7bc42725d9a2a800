import test from 'ava';
import { filter, map, take, toArray, lastValueFrom } from 'rxjs';
import { IsolatedObservable } from '../../src/index.js';

function source(values: number[], onError: (e: unknown) => void) {
  return new IsolatedObservable<number>((subscriber) => {
    for (const v of values) subscriber.next(v);
    subscriber.complete();
  }, onError);
}

test('IsolatedObservable - a throwing next() is reported and delivery continues', (t) => {
  const errors: unknown[] = [];
  const seen: number[] = [];
  source([1, 2, 3], (e) => errors.push(e)).subscribe((v) => {
    seen.push(v);
    if (v === 2) throw new Error('two');
  });
  t.deepEqual(seen, [1, 2, 3]);
  t.is(errors.length, 1);
});

test('IsolatedObservable - operators keep the isolation and the class', async (t) => {
  const errors: unknown[] = [];
  const piped = source([1, 2, 3, 4], (e) => errors.push(e)).pipe(filter((v) => v % 2 === 0), map((v) => v * 10));
  t.true(piped instanceof IsolatedObservable);
  const seen: number[] = [];
  piped.subscribe({
    next: (v) => {
      seen.push(v);
      throw new Error('x');
    },
    complete: () => {
      throw new Error('complete too');
    },
  });
  t.deepEqual(seen, [20, 40]);
  t.is(errors.length, 3);
  t.deepEqual(await lastValueFrom(source([5, 6, 7], () => {}).pipe(take(2), toArray())), [5, 6]);
});
