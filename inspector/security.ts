import { networkInterfaces } from 'node:os';

// What a Host header may hold: a name or an address, an optional port. Anything else (userinfo,
// paths, spaces) is refused before parsing, so the URL parser cannot read it generously.
const HOST_HEADER = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

/**
 * The canonical hostname of a `Host` header value (`LocalHost:4680` → `localhost`,
 * `[0:0::1]` → `[::1]`, `127.1` → `127.0.0.1`), or `undefined` when it is not a plain host.
 *
 * @example
 * ```ts
 * hostnameOf('[::1]:4680'); // '[::1]'
 * ```
 */
export function hostnameOf(host: string | undefined): string | undefined {
  if (typeof host !== 'string' || !HOST_HEADER.test(host)) return undefined;
  try {
    const name = new URL(`http://${host}/`).hostname;
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

/**
 * The canonical hostname of an `Origin` header (`http://LOCALHOST:5173` → `localhost`), or
 * `undefined` for `null`, opaque or non-http(s) origins.
 *
 * @example
 * ```ts
 * originHostname('http://127.0.0.1:4680'); // '127.0.0.1'
 * ```
 */
export function originHostname(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return undefined;
    return url.hostname || undefined;
  } catch {
    return undefined;
  }
}

const WILDCARDS = new Set(['0.0.0.0', '[::]']);

/**
 * The hostnames a request may name in `Host` (and its `Origin`, if any): `localhost`, the loopback
 * addresses, the bound address (every local interface address when bound to `0.0.0.0` or `::`),
 * and the user's `allowedHosts`. Names only: any port is accepted, since the request did reach
 * this server. A DNS name other than these is what a DNS-rebinding page sends, so it is refused.
 *
 * @example
 * ```ts
 * allowedHostnames('127.0.0.1', ['inspector.internal']); // Set { 'localhost', '127.0.0.1', '[::1]', 'inspector.internal' }
 * ```
 */
export function allowedHostnames(boundHost: string, allowedHosts: readonly string[] = []): Set<string> {
  const out = new Set(['localhost', '127.0.0.1', '[::1]']);
  const bound = hostnameOf(boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost);
  if (bound) out.add(bound);
  if (bound && WILDCARDS.has(bound)) {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        const name = hostnameOf(a.family === 'IPv6' || String(a.family) === '6' ? `[${a.address.split('%')[0]}]` : a.address);
        if (name) out.add(name);
      }
    }
  }
  for (const h of allowedHosts) {
    const name = hostnameOf(h);
    if (name) out.add(name);
  }
  return out;
}

/** Why a request was refused, for the 403 body and `stats().refused`. */
export type Refusal = 'host' | 'origin';

/**
 * Decides whether a request may be served: `Host` must name an allowed host, and an `Origin`, when
 * present, must be an http(s) origin of an allowed host. A missing `Origin` is accepted: browsers
 * send one with every WebSocket upgrade and every cross-origin request, so its absence means a
 * top-level navigation or a client that is not a browser (an app, `curl`), which DNS rebinding
 * cannot drive.
 *
 * @example
 * ```ts
 * checkRequest({ host: 'attacker.example:4680', origin: 'http://attacker.example:4680' }, allowed); // 'host'
 * ```
 */
export function checkRequest(headers: { host?: string | undefined; origin?: string | undefined }, allowed: ReadonlySet<string>): Refusal | undefined {
  const host = hostnameOf(headers.host);
  if (host === undefined || !allowed.has(host)) return 'host';
  if (headers.origin !== undefined) {
    const origin = originHostname(headers.origin);
    if (origin === undefined || !allowed.has(origin)) return 'origin';
  }
  return undefined;
}
