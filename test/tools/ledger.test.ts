// The stress report's integrity checks must be able to fail: corrupt the store behind the ledger's
// back and each check that guards it must say so.
import test from 'ava';
import { buildWorld, performOperation, OPERATION_TYPES, type TargetData } from '../../tools/common.js';
import { Ledger } from '../../tools/stress.js';
import { seededRandom } from '../../tools/random.js';

const failing = (ledger: Ledger) => ledger.checks().filter((c) => !c.ok).map((c) => c.name);

test('Ledger.checks() - committed operations of every type pass every check', async (t) => {
  const world = buildWorld(2);
  const ledger = new Ledger(world);
  const random = seededRandom(3);
  const signal = new AbortController().signal;
  for (const type of OPERATION_TYPES) {
    for (const target of world.targets) {
      ledger.executed(type);
      const effect = await performOperation(world, target, type, random, signal, 0, `${type}-${target}`);
      t.true(effect.targetWrites >= 1, `${type} wrote the target`);
      ledger.committed(type, target, effect.targetWrites, 0);
    }
  }
  t.deepEqual(failing(ledger), []);
  t.is(world.store.get<TargetData>(world.targets[0]!)!.data.opCount, OPERATION_TYPES.length);
});

test('Ledger.checks() - a write nobody committed breaks the version and lost-update checks', async (t) => {
  const world = buildWorld(1);
  const ledger = new Ledger(world);
  const target = world.targets[0]!;
  ledger.executed('modify_field');
  const effect = await performOperation(world, target, 'modify_field', seededRandom(1), new AbortController().signal, 0, 'ghost');
  t.true(effect.targetWrites > 0);
  t.deepEqual(failing(ledger), [
    'every target version accounted for by completed operations',
    'opCount of every target equals its completed operations (no lost update)',
    'real operations modified entities',
  ]);
});

test('Ledger.checks() - overlapping executions and stray writes are reported', (t) => {
  const world = buildWorld(1);
  const ledger = new Ledger(world);
  const target = world.targets[0]!;
  const leaveA = ledger.enter(target);
  const leaveB = ledger.enter(target);
  leaveA();
  leaveB();
  ledger.strayWrites = 1;
  const names = failing(ledger);
  t.true(names.includes('at most one execution per target at any time'));
  t.true(names.includes('no write by an operation that did not complete'));
});

test('performOperation() - an aborted execution writes nothing', async (t) => {
  const world = buildWorld(1);
  const target = world.targets[0]!;
  const before = world.store.get(target)!.version;
  const abort = new AbortController();
  abort.abort();
  await t.throwsAsync(performOperation(world, target, 'complex_update', seededRandom(1), abort.signal, 0, 'late'), { name: 'AbortedExecution' });
  t.is(world.store.get(target)!.version, before);
});
