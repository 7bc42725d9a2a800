import type { Entity } from './types.js';

/**
 * The versions of one entity, oldest first. Snapshots are frozen, so keeping them costs no copy;
 * `max` bounds how many are kept (the oldest go first), the current one always stays.
 */
export class Lineage<TData = unknown> {
  private readonly versions: Entity<TData>[];

  constructor(
    first: Entity<TData>,
    private readonly max: number,
  ) {
    this.versions = [first];
  }

  get current(): Entity<TData> {
    return this.versions[this.versions.length - 1]!;
  }

  push(next: Entity<TData>): void {
    this.versions.push(next);
    if (this.versions.length > this.max) this.versions.splice(0, this.versions.length - this.max);
  }

  list(): readonly Entity<TData>[] {
    return this.versions.slice();
  }
}
