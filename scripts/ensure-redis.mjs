#!/usr/bin/env node
// Makes sure `redis-server` is there before the test suite runs: the Redis backend's tests start
// their own server. Found on PATH (or at ARBITER_REDIS_SERVER) → nothing to do. Missing, as root
// with apt-get → installs Debian's redis-server. Otherwise → fails at once with the one command to
// run. Never skips the Redis tests silently.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function executable(path) {
  try {
    return statSync(path).isFile() && (accessSync(path, constants.X_OK), true);
  } catch {
    return false;
  }
}

function onPath(name) {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  // Debian's apt puts redis-server in /usr/bin; sbin directories are often missing from a user's PATH.
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function findRedisServer() {
  const explicit = process.env.ARBITER_REDIS_SERVER;
  if (explicit) return executable(explicit) ? explicit : undefined;
  return onPath('redis-server');
}

function fail(command) {
  console.error(
    `redis-server is required by the Redis backend tests and is not installed.\n` +
      `Install it with:\n\n  ${command}\n\n` +
      `(or set ARBITER_REDIS_SERVER to the path of a redis-server binary, Redis 6.2 or later)`,
  );
  process.exit(1);
}

function aptInstall() {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { stdio: 'inherit', env });
  console.log('redis-server not found: installing it with apt-get (Debian package redis-server)');
  if (install().status === 0) return true;
  // A fresh image often has no package lists yet.
  if (spawnSync('apt-get', ['update'], { stdio: 'inherit', env }).status !== 0) return false;
  return install().status === 0;
}

const found = findRedisServer();
if (found) {
  process.exit(0);
}
if (process.env.ARBITER_REDIS_SERVER) {
  console.error(`ARBITER_REDIS_SERVER is set to ${process.env.ARBITER_REDIS_SERVER}, which is not an executable file: fix it or unset it.`);
  process.exit(1);
}
const hasApt = onPath('apt-get') !== undefined;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (hasApt && isRoot) {
  if (aptInstall() && findRedisServer()) process.exit(0);
  fail('apt-get install -y redis-server');
}
if (hasApt) fail('sudo apt-get install -y redis-server');
if (onPath('brew')) fail('brew install redis');
fail('install Redis 6.2 or later so that `redis-server` is on your PATH (https://redis.io/docs/latest/operate/oss_and_stack/install/)');
