/**
 * Collects this machine with the local transport and prints the snapshot as JSON: run in a mount
 * namespace (ssh-fleet's inNamespace) whose binds make "this machine" a test host.
 *   node --import tsx test/collect-local-worker.ts
 */
import { collectLocal } from '../src/inventory/local.js';

process.stdout.write(JSON.stringify(await collectLocal()));
