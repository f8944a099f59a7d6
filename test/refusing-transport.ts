import type { RunTransport } from '../src/services/runs.js';

/**
 * A run transport that refuses every step: for API tests, where runs may be started but must
 * never reach a host (real hosts are patched in the end-to-end tests).
 */
export const refusingTransport: RunTransport = {
  packageManager: () => Promise.resolve('dnf'),
  managerOptions: () => Promise.resolve({}),
  exec: () => Promise.resolve({ code: 1, stdout: '', stderr: 'no hosts in this test' }),
  reboot: () => Promise.resolve({ code: 1, stdout: '', stderr: 'no hosts in this test' }),
  rescan: () => Promise.resolve({ code: 1, stdout: '', stderr: 'no hosts in this test' }),
};
