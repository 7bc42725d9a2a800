import { ArbiterInputError } from './errors.js';

/** Names a value's kind for "expected …, got …" messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return String(value);
    return `number ${value}`;
  }
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    // Long values are cut in the middle, visibly: their end (an id's suffix, a file name) matters.
    if (value.length <= 60) return `string ${JSON.stringify(value)}`;
    return `string ${JSON.stringify(value.slice(0, 30))}…${JSON.stringify(value.slice(-24))} (${value.length} characters)`;
  }
  return typeof value;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new ArbiterInputError(field, `Expected \`${field}\` to be ${expected}, got ${kindOf(value)}`);
}

/** Throws unless `value` is a plain object (not null, not an array). */
export function expectObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'an object', value);
}

/** Throws unless `value` is a non-empty string. */
export function expectNonEmptyString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty string', value);
}

/** Throws unless `value` is a function. */
export function expectFunction(value: unknown, field: string): asserts value is (...args: any[]) => any {
  if (typeof value !== 'function') fail(field, 'a function', value);
}

/** Throws unless `value` is a finite number ≥ `min`. */
export function expectFiniteNumber(value: unknown, field: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(field, `a finite number ≥ ${min}`, value);
  }
}

/** Throws unless `value` is an integer within `[min, max]`. */
export function expectInteger(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`, value);
  }
}

/** Throws unless `value` is one of `allowed`. */
export function expectOneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
}

/** Throws unless `value` is a boolean. */
export function expectBoolean(value: unknown, field: string): asserts value is boolean {
  if (typeof value !== 'boolean') fail(field, 'a boolean', value);
}

