import { describe, expect, it } from 'vitest';
import type { OvalCriteria, OvalTest } from '../core/oval.js';
import { combine, evaluateCriteria, evaluateTest, indexByName, type OvalResult, type StrictInventory } from './oval-strict.js';

const inv: StrictInventory = {
  family: 'rpm',
  runningKernel: '6.6.64.2-1.azl3',
  packages: [
    { name: 'golang', epoch: 0, version: '1.20.6', release: '1.azl3', arch: 'x86_64' },
    { name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3', arch: 'x86_64' },
    { name: 'kernel', epoch: null, version: '6.6.64.2', release: '1.azl3', arch: 'x86_64' },
    { name: 'kernel', epoch: null, version: '6.6.70.1', release: '1.azl3', arch: 'x86_64' },
  ],
};
const idx = indexByName(inv);

const rpmTest = (names: string[], op: string, value: string, extra: Partial<OvalTest> = {}): OvalTest => ({
  id: 't',
  type: 'rpminfo_test',
  comment: null,
  check: 'at least one',
  checkExistence: 'at_least_one_exists',
  names,
  states: [[{ field: 'evr', datatype: 'evr_string', operation: op as 'less than', value }]],
  ...extra,
});

describe('OVAL operators (OVAL 5.11 §5.3.4 truth tables)', () => {
  it.each([
    ['AND', ['true', 'true'], 'true'],
    ['AND', ['true', 'false', 'error'], 'false'],
    ['AND', ['true', 'unknown'], 'unknown'],
    ['AND', ['unknown', 'error'], 'error'],
    ['OR', ['false', 'true', 'error'], 'true'],
    ['OR', ['false', 'unknown'], 'unknown'],
    ['OR', ['false', 'false'], 'false'],
    ['ONE', ['true', 'false'], 'true'],
    ['ONE', ['true', 'true', 'unknown'], 'false'],
    ['ONE', ['true', 'unknown'], 'unknown'],
    ['XOR', ['true', 'true', 'true'], 'true'],
    ['XOR', ['true', 'true'], 'false'],
  ] as const)('%s of %j is %s', (op, rs, out) => {
    expect(combine(op, rs as readonly OvalResult[])).toBe(out);
  });
});

describe('tests, literally', () => {
  it('compares EVRs as written: the feed\'s 0: epoch against an installed epoch 4 is not "less than"', () => {
    expect(evaluateTest(rpmTest(['perl'], 'less than', '0:5.38.2-510.azl3'), inv, idx)).toBe('false');
    expect(evaluateTest(rpmTest(['golang'], 'less than', '0:1.20.7-1.azl3'), inv, idx)).toBe('true');
    expect(evaluateTest(rpmTest(['golang'], 'less than', '0:1.20.6-1.azl3'), inv, idx)).toBe('false');
    expect(evaluateTest(rpmTest(['golang'], 'less than or equal', '0:1.20.6-1.azl3'), inv, idx)).toBe('true');
  });

  it('matches object names literally: a source name does not see its binaries', () => {
    expect(evaluateTest(rpmTest(['python-urllib3'], 'less than', '0:9-1'), inv, idx)).toBe('false');
  });

  it('applies check and check_existence over several installed versions', () => {
    expect(evaluateTest(rpmTest(['kernel'], 'less than', '0:6.6.70.1-1.azl3'), inv, idx)).toBe('true');
    expect(evaluateTest(rpmTest(['kernel'], 'less than', '0:6.6.70.1-1.azl3', { check: 'all' }), inv, idx)).toBe('false');
    expect(evaluateTest(rpmTest(['kernel'], 'less than', '0:6.6.70.1-1.azl3', { check: 'only one' }), inv, idx)).toBe('true');
    expect(evaluateTest(rpmTest(['kernel'], 'less than', '0:9-1', { check: 'none satisfy' }), inv, idx)).toBe('false');
    expect(evaluateTest({ ...rpmTest(['absent'], 'less than', '0:1-1'), checkExistence: 'none_exist', states: [] }, inv, idx)).toBe('true');
    expect(evaluateTest({ ...rpmTest(['golang'], 'less than', '0:1-1'), checkExistence: 'none_exist', states: [] }, inv, idx)).toBe('false');
  });

  it('says unknown for what an inventory cannot know, and evaluates uname against the running kernel', () => {
    const sig: OvalTest = { ...rpmTest(['golang'], 'equals', 'x'), states: [[{ field: 'signature_keyid', datatype: null, operation: 'equals', value: '199e2f91fd431d51' }]] };
    expect(evaluateTest(sig, inv, idx)).toBe('unknown');
    const uname: OvalTest = { id: 'u', type: 'uname_test', comment: null, check: 'at least one', checkExistence: 'at_least_one_exists', names: [], states: [[{ field: 'os_release', datatype: null, operation: 'pattern match', value: '^6\\.6\\.64' }]] };
    expect(evaluateTest(uname, inv, idx)).toBe('true');
    expect(evaluateTest(uname, { ...inv, runningKernel: null }, idx)).toBe('unknown');
  });

  it('negates, and an extend_definition missing from the document is unknown', () => {
    const c: OvalCriteria = {
      kind: 'criteria',
      operator: 'AND',
      negate: false,
      children: [
        { kind: 'criterion', negate: true, test: rpmTest(['golang'], 'less than', '0:1.0-1') },
        { kind: 'extend', negate: false, definition: 'oval:x:def:1', comment: null },
      ],
    };
    expect(evaluateCriteria(c, inv)).toBe('unknown');
    expect(evaluateCriteria({ ...c, operator: 'OR' }, inv)).toBe('true');
  });
});
