/**
 * Pieces shared by the stress, post-registration and brutality engines: the target entities and
 * the real operations on them in the store, memory sampling, and the small statistics the reports
 * use. Node-only (process.memoryUsage), which is why it lives in `tools/`, not `src/`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createStore, Priority, type EntityStore } from '../src/index.js';
import { weighted, type Random } from './random.js';

/** The real operations of the stress workload. */
export const OPERATION_TYPES = [
  'version_entity',
  'modify_field',
  'borrow_attribute',
  'complex_update',
  'promote_to_root',
  'detach_entity',
] as const;

/** One of {@link OPERATION_TYPES}. */
export type OperationType = (typeof OPERATION_TYPES)[number];

/** version_entity 30%, modify_field 25%, borrow_attribute 20%, complex_update 15%, promote_to_root 5%, detach_entity 5%. */
export const DEFAULT_MIX: Readonly<Record<OperationType, number>> = {
  version_entity: 0.3,
  modify_field: 0.25,
  borrow_attribute: 0.2,
  complex_update: 0.15,
  promote_to_root: 0.05,
  detach_entity: 0.05,
};

/** The priority classes a workload draws from. */
export const PRIORITY_CLASSES = { LOW: Priority.LOW, NORMAL: Priority.NORMAL, HIGH: Priority.HIGH, CRITICAL: Priority.CRITICAL } as const;

/** A priority class name. */
export type PriorityClass = keyof typeof PRIORITY_CLASSES;

/** 25% each LOW/NORMAL/HIGH/CRITICAL. */
export const DEFAULT_PRIORITIES: Readonly<Record<PriorityClass, number>> = { LOW: 0.25, NORMAL: 0.25, HIGH: 0.25, CRITICAL: 0.25 };

/** A sampler of priorities from class weights. */
export function prioritySampler(random: Random, weights: Readonly<Record<PriorityClass, number>>): () => number {
  return weighted(
    random,
    (Object.keys(PRIORITY_CLASSES) as PriorityClass[]).map((k) => [PRIORITY_CLASSES[k], weights[k]] as const),
  );
}

/** A sampler of operation types from the mix. */
export function operationSampler(random: Random, mix: Readonly<Record<OperationType, number>>): () => OperationType {
  return weighted(random, OPERATION_TYPES.map((t) => [t, mix[t]] as const));
}

/** A target entity of the stress workload, as plain store data. */
export interface TargetData {
  name: string;
  counter: number;
  dataValue: number;
  textContent: string;
  timestamp: number;
  versionCount: number;
  borrowCount: number;
  /** Operations that committed on this target (each adds exactly 1). */
  opCount: number;
  /** The last few modifications, newest last. */
  log: string[];
}

/** The entity `borrow_attribute` copies fields from. */
export interface SourceData {
  sourceName: string;
  sourceCounter: number;
  sourceData: number;
  sourceText: string;
  sourceValues: number[];
}

/** The store and the entities one run works on. */
export interface World {
  readonly store: EntityStore;
  /** Target entity ids. */
  readonly targets: readonly string[];
  /** Per target, a child entity the structural operations move. */
  readonly parts: ReadonlyMap<string, string>;
  readonly sourceId: string;
  /** Each target's version once the world was built. */
  readonly initialVersions: ReadonlyMap<string, number>;
}

const LOG_KEEP = 8;

/** Builds the store with `count` targets (each with one attached part) and one source. */
export function buildWorld(count: number, ids?: readonly string[]): World {
  const store = createStore({ maxHistory: 16 });
  const source = store.create<SourceData>({
    sourceName: 'data_source',
    sourceCounter: 100,
    sourceData: 99.99,
    sourceText: 'borrowed_content',
    sourceValues: [1, 2, 3, 4, 5],
  });
  const targets: string[] = [];
  const parts = new Map<string, string>();
  const initialVersions = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const t = store.create<TargetData>({
      name: `test_entity_${i}`,
      counter: 0,
      dataValue: 0,
      textContent: '',
      timestamp: 0,
      versionCount: 0,
      borrowCount: 0,
      opCount: 0,
      log: ['created'],
    }, ids?.[i] !== undefined ? { id: ids[i] } : {});
    const part = store.create({ role: 'part', of: t.id }, { parentId: t.id });
    targets.push(t.id);
    parts.set(t.id, part.id);
  }
  for (const t of targets) initialVersions.set(t, store.get(t)!.version);
  return { store, targets, parts, sourceId: source.id, initialVersions };
}

/** What one execution of a real operation did. */
export interface OperationEffect {
  /** Versions the target gained during this execution. */
  readonly targetWrites: number;
}

/** Thrown inside an execution that noticed its abort signal: it wrote nothing. */
export class AbortedExecution extends Error {
  override readonly name = 'AbortedExecution';
}

/**
 * Performs one of the real operations on `targetId`: reads the target's version, waits
 * `workMs` (the "processing" of a read-process-write cycle; 0 means none; with `wait`, real time
 * by default), and then, unless the signal was aborted meanwhile, writes with `expectedVersion`
 * set to the version it read. The last write of every operation is a bookkeeping update
 * (`opCount + 1`, a log line), so `opCount` counts committed operations exactly.
 */
export async function performOperation(
  world: World,
  targetId: string,
  type: OperationType,
  random: Random,
  signal: AbortSignal,
  workMs: number,
  label: string,
  wait: (ms: number, signal: AbortSignal) => Promise<void> = (ms, s) => sleep(ms, undefined, { signal: s }).catch(() => undefined),
): Promise<OperationEffect> {
  const { store } = world;
  const before = store.get<TargetData>(targetId)!.version;
  if (workMs > 0) await wait(workMs, signal);
  if (signal.aborted) throw new AbortedExecution(`${label} aborted before writing`);
  let expected = before;
  const occ = () => ({ expectedVersion: expected });
  const step = (e: { version: number }) => {
    expected = e.version;
  };
  switch (type) {
    case 'version_entity':
      step(store.version(targetId, occ()));
      break;
    case 'modify_field': {
      const field = (['counter', 'dataValue', 'textContent'] as const)[Math.floor(random() * 3)]!;
      const value = field === 'counter' ? 1 + Math.floor(random() * 1000) : field === 'dataValue' ? random() * 100 : `text_${label}`;
      step(store.put(`@${targetId}.${field}`, value, occ()));
      break;
    }
    case 'borrow_attribute': {
      const [from, to] = random() < 0.5 ? (['sourceCounter', 'counter'] as const) : (['sourceData', 'dataValue'] as const);
      step(store.borrow(targetId, world.sourceId, from, to, occ()));
      step(store.update<TargetData>(targetId, (d) => void (d.borrowCount += 1), occ()));
      break;
    }
    case 'complex_update':
      step(
        store.update<TargetData>(
          targetId,
          (d) => {
            d.counter += 1;
            d.dataValue = random() * 100;
            d.textContent = `Updated_${d.counter}`;
            d.timestamp = Date.now();
            d.versionCount += 1;
          },
          occ(),
        ),
      );
      step(store.version(targetId, occ()));
      break;
    case 'promote_to_root':
    case 'detach_entity': {
      // Toggle the target's part between attached and a root, so every structural operation is
      // a real change (otherwise every one after the first would be a no-op).
      const partId = world.parts.get(targetId)!;
      const part = store.get(partId)!;
      if (part.parentId === undefined) store.attach(partId, targetId);
      else if (type === 'promote_to_root') store.promoteToRoot(partId);
      else store.detach(partId);
      break;
    }
  }
  store.update<TargetData>(
    targetId,
    (d) => {
      d.opCount += 1;
      d.log.push(`${type} by ${label}`);
      if (d.log.length > LOG_KEEP) d.log.splice(0, d.log.length - LOG_KEEP);
    },
    occ(),
  );
  return { targetWrites: store.get(targetId)!.version - before };
}

let fullGc: (() => void) | null | undefined;

/**
 * A function that runs a full garbage collection: `globalThis.gc` under `--expose-gc`, else one
 * obtained the way test runners do (`--expose-gc` set at run time, `gc` read from a new context);
 * `undefined` where neither works.
 */
export function garbageCollector(): (() => void) | undefined {
  if (fullGc === undefined) {
    const existing = (globalThis as { gc?: unknown }).gc;
    if (typeof existing === 'function') fullGc = existing as () => void;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const gc = runInNewContext('gc') as unknown;
        fullGc = typeof gc === 'function' ? (gc as () => void) : null;
      } catch {
        fullGc = null;
      }
    }
  }
  return fullGc ?? undefined;
}

/** Samples heap and RSS while a run goes on. */
export class MemorySampler {
  private readonly samples: number[] = [];
  private readonly rss: number[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  start(everyMs = 100): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const m = process.memoryUsage();
    this.samples.push(m.heapUsed);
    this.rss.push(m.rss);
  }

  /** Heap samples so far, in bytes, oldest first. */
  heapSamples(): readonly number[] {
    return this.samples;
  }

  /** The heap in use right after a full collection, in bytes (`undefined` when none can be run). */
  settled(): number | undefined {
    const gc = garbageCollector();
    if (gc === undefined) return undefined;
    gc();
    return process.memoryUsage().heapUsed;
  }

  stop(): MemoryFigures {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const mb = (b: number) => b / 1024 / 1024;
    return {
      avgHeapMb: mb(mean(this.samples)),
      maxHeapMb: mb(Math.max(...this.samples)),
      avgRssMb: mb(mean(this.rss)),
      maxRssMb: mb(Math.max(...this.rss)),
      samples: this.samples.length,
    };
  }
}

/** Memory over a run, in MB. */
export interface MemoryFigures {
  readonly avgHeapMb: number;
  readonly maxHeapMb: number;
  readonly avgRssMb: number;
  readonly maxRssMb: number;
  readonly samples: number;
}

/** Arithmetic mean, 0 for none. */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** One integrity check of a report. */
export interface IntegrityCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** One target's live status, for the progress output. */
export interface TargetStatus {
  /** `#0`, `#1`, … in the order the targets were created. */
  readonly label: string;
  /** Operations waiting in its window (admitted, not decided). */
  readonly staged: number;
  /** Operations running `execute` on it now. */
  readonly executing: number;
  /** Operations that have won it so far. */
  readonly winners: number;
}

/** Progress of a run, for the CLI's bar. */
export interface Progress {
  /** 0..1 */
  readonly fraction: number;
  readonly submitted: number;
  readonly completed: number;
  readonly rejected: number;
  /** Operations that have retried at least once and are not final yet (brutality). */
  readonly retrying?: number | undefined;
  readonly targets?: readonly TargetStatus[] | undefined;
}

/** The operation-accounting section every load report opens with. */
export interface AccountingSection {
  readonly submitted: number;
  readonly completed: number;
  readonly rejected: number;
  readonly inProgress: number;
  readonly unaccounted: number;
  readonly rejectedByCode: Record<string, number>;
}

/** What the load tools share: how the arbiter decides and how batches are drawn. */
export interface LoadOptions {
  readonly windowMs: number;
  readonly gracePeriodMs: number;
  /** Simulated processing between an operation's read and its (compare-and-set) writes. */
  readonly workMs: number;
  /** Batch sizes, each batch on one target (3–8 by default). */
  readonly batchMin: number;
  readonly batchMax: number;
  readonly priorities: Readonly<Record<PriorityClass, number>>;
  readonly seed: number;
  readonly onProgress?: ((p: Progress) => void) | undefined;
}
