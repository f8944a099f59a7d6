/**
 * A `bulwark serve` API in a process of its own, for load from the bench process:
 *   node --import tsx bench/serve-worker.ts DB_LOCATION AGENT_KEY_HEX
 * DB_LOCATION is a SQLite path or a postgres:// URL (?schema=). Prints its URL, serves until killed.
 */
import { startServer } from '../src/api/server.js';
import { runTransport } from '../src/services/run-transport.js';
import { openStore } from '../src/services/store.js';

const [location, key] = process.argv.slice(2);
if (location === undefined || key === undefined) throw new Error('usage: serve-worker DB_LOCATION AGENT_KEY_HEX');
const db = location.startsWith('postgres')
  ? await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: location } })
  : await openStore({ dbPath: location });
const server = await startServer(db, {
  host: '127.0.0.1',
  port: 0,
  knownHostsFile: '/dev/null',
  transport: (d) => runTransport(d, { knownHostsFile: '/dev/null', acceptNewHostKey: false }),
  version: 'bench',
  agentServerKey: Buffer.from(key, 'hex'),
});
console.log(server.url);
process.on('SIGTERM', () => {
  void server
    .close()
    .then(() => db.close())
    .then(() => process.exit(0));
});
