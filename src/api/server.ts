import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { BulwarkError } from '../core/errors.js';
import type { Db } from '../services/store.js';
import { createApp, type ApiOptions } from './app.js';
import { HOST } from './origin.js';

/**
 * Puts the API on a listening socket: plain HTTP on loopback by default, HTTPS when given a
 * certificate and key (PEM). Behind a load balancer that terminates TLS, list its address in
 * `trustProxy` so that rate limits see the client's address from X-Forwarded-For.
 */
export interface ServeOptions extends Omit<ApiOptions, 'clientAddress'> {
  host: string;
  port: number;
  tls?: { cert: string; key: string } | undefined;
  /** Proxy addresses whose X-Forwarded-For is believed. */
  trustProxy?: readonly string[];
}

/** BULWARK_PUBLIC_URL: http(s)://host[:port], nothing more (an install command is built on it). */
export function publicUrlOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(https?):\/\/([^/?#@\s]+?)\/?$/.exec(value);
  if (m === null || !HOST.test(m[2] ?? ''))
    throw new BulwarkError('config.invalid', `BULWARK_PUBLIC_URL: "${value}" is not http(s)://HOST[:PORT]`, { variable: 'BULWARK_PUBLIC_URL' });
  return `${m[1] ?? 'https'}://${m[2] ?? ''}`;
}

export async function startServer(db: Db, o: ServeOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const trusted = new Set(o.trustProxy ?? []);
  const app = createApp(db, {
    ...o,
    clientAddress: (c) => {
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
      const peer = env?.incoming?.socket?.remoteAddress ?? 'unknown';
      const forwarded = c.req.header('x-forwarded-for');
      return trusted.has(peer) && forwarded !== undefined ? (forwarded.split(',').pop()?.trim() ?? peer) : peer;
    },
    forwardedHttps: (c) => {
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
      return trusted.has(env?.incoming?.socket?.remoteAddress ?? '') && c.req.header('x-forwarded-proto') === 'https';
    },
    forwardedOrigin: (c) => {
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
      if (!trusted.has(env?.incoming?.socket?.remoteAddress ?? '')) return null;
      const proto = c.req.header('x-forwarded-proto');
      const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim();
      if ((proto !== 'https' && proto !== 'http') || host === undefined || !HOST.test(host)) return null;
      return `${proto}://${host}`;
    },
  });
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (o.tls !== undefined) {
    try {
      tls = { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) };
    } catch (err) {
      throw new BulwarkError('config.invalid', `cannot read the TLS certificate or key: ${(err as Error).message}`);
    }
  }
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve(
      { fetch: app.fetch, hostname: o.host, port: o.port, ...(tls !== undefined ? { createServer: createHttpsServer, serverOptions: tls } : {}) },
      () => {
        resolve(s);
      },
    );
    s.once('error', (err: Error) => {
      reject(new BulwarkError('config.invalid', `cannot listen on ${o.host}:${String(o.port)}: ${err.message}`));
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${tls !== undefined ? 'https' : 'http'}://${host}:${String(addr.port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
