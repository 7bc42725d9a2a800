import test from 'ava';
import { RedisClock } from '../../src/redis/clock.js';

// Redis time runs 1,000,000 ms ahead of the local clock in these tests.
const OFFSET = 1_000_000;
const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;

test('RedisClock - before any reply it cannot answer; a reply maps Redis time to the local time it was read at, at the latest', (t) => {
  const clock = new RedisClock();
  t.false(clock.known);
  t.is(clock.localTimeOf(OFFSET + 100), Infinity);
  // Sent at 0, read at 10: Redis ran it somewhere in between (at local 2 here).
  clock.sample(0, 10, OFFSET + 2);
  t.true(clock.known);
  // Redis time OFFSET + 102 (100 ms after the script ran): local 110 at the latest.
  t.is(clock.localTimeOf(OFFSET + 102), 110);
});

test('RedisClock - the reply read soonest after Redis ran it sets the estimate: a slow reply later makes nothing late', (t) => {
  const clock = new RedisClock();
  clock.sample(100, 100.5, OFFSET + 100.2);
  // A reply that waited 40 ms behind a busy event loop.
  clock.sample(200, 245, OFFSET + 205);
  // Redis ran the first at local 100.2, so Redis time OFFSET + 305 is local 305: the estimate is
  // late by that reply's way back (0.3 ms), not by the slow one's (40 ms), and never early.
  t.true(near(clock.localTimeOf(OFFSET + 305), 305.3));
});

test('RedisClock - a reply that contradicts the estimate (Redis time went back) starts it again from that reply', (t) => {
  const clock = new RedisClock();
  clock.sample(0, 1, OFFSET);
  // Redis time is now 500 ms behind: the reply's upper bound is below the estimate.
  clock.sample(1000, 1002, OFFSET + 500);
  t.is(clock.localTimeOf(OFFSET + 600), 1102);
});

test('RedisClock - bounds older than two epochs are forgotten', (t) => {
  const clock = new RedisClock(1000);
  clock.sample(0, 0.1, OFFSET);
  // Later replies are all slow (10 ms): the fast one still counts within two epochs…
  clock.sample(1500, 1510, OFFSET + 1500);
  t.true(near(clock.localTimeOf(OFFSET + 2000), 2000.1));
  // …and no longer after them.
  clock.sample(2600, 2610, OFFSET + 2600);
  clock.sample(3700, 3710, OFFSET + 3700);
  t.is(clock.localTimeOf(OFFSET + 4000), 4010);
});

test('RedisClock - ignores samples that cannot be right (not finite, read before sent)', (t) => {
  const clock = new RedisClock();
  clock.sample(0, 1, Number.NaN);
  clock.sample(5, 4, OFFSET);
  t.false(clock.known);
});
