/**
 * The `bulwark` CLI from source, as its own process (what bin/bulwark.js runs from dist/):
 *   node --import tsx test/bulwark-process.ts ARGS…
 * for tests that need a real process: a server to connect to, a process to kill.
 */
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
