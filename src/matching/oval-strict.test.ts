import { describe, expect, it } from 'vitest';
import type { OvalCriteria, OvalTest } from '../core/oval.js';
import { combine, evaluateCriteria, evaluateTest, indexByName, ovalEvrStringCompare, type OvalResult, type StrictInventory } from './oval-strict.js';

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
    const sig: OvalTest = {
      ...rpmTest(['golang'], 'equals', 'x'),
      states: [[{ field: 'signature_keyid', datatype: null, operation: 'equals', value: '199e2f91fd431d51' }]],
    };
    expect(evaluateTest(sig, inv, idx)).toBe('unknown');
    const uname: OvalTest = {
      id: 'u',
      type: 'uname_test',
      comment: null,
      check: 'at least one',
      checkExistence: 'at_least_one_exists',
      names: [],
      states: [[{ field: 'os_release', datatype: null, operation: 'pattern match', value: '^6\\.6\\.64' }]],
    };
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

describe("items as OpenSCAP's probes report them", () => {
  const deb: StrictInventory = {
    family: 'deb',
    runningKernel: null,
    packages: [
      { name: 'strace', epoch: null, version: '6.1-0.1', release: null, arch: 'amd64' },
      { name: 'dpkg', epoch: null, version: '1.21.23', release: null, arch: 'amd64' },
      { name: 'bsdutils', epoch: null, version: '1:2.38.1-5+deb12u3', release: null, arch: 'amd64' },
      { name: 'libedit2', epoch: null, version: '3.1-20221030-2', release: null, arch: 'amd64' },
    ],
  };
  const debIdx = indexByName(deb);
  const debTest = (names: string[], field: string, op: string, value: string, extra: Partial<OvalTest> = {}): OvalTest => ({
    id: 't',
    type: 'dpkginfo_test',
    comment: null,
    check: 'all',
    checkExistence: 'at_least_one_exists',
    names,
    states: [[{ field, datatype: field === 'evr' ? 'debian_evr_string' : null, operation: op as 'equals', value }]],
    ...extra,
  });

  it.each([
    ['strace', 'version', 'equals', '6.1', 'true'],
    ['strace', 'release', 'equals', '0.1', 'true'],
    ['strace', 'epoch', 'equals', '0', 'true'],
    ['strace', 'evr', 'equals', '0:6.1-0.1', 'true'],
    ['strace', 'version', 'equals', '6.1-0.1', 'false'],
    ['dpkg', 'release', 'equals', '', 'true'],
    ['dpkg', 'version', 'equals', '1.21.23', 'true'],
    ['bsdutils', 'epoch', 'equals', '1', 'true'],
    ['bsdutils', 'version', 'equals', '2.38.1', 'true'],
    ['bsdutils', 'release', 'equals', '5+deb12u3', 'true'],
    ['bsdutils', 'evr', 'less than', '1:2.38.1-5+deb12u4', 'true'],
    // The probe splits at the first '-' (dpkg would say version 3.1-20221030, revision 2).
    ['libedit2', 'version', 'equals', '3.1', 'true'],
    ['libedit2', 'release', 'equals', '20221030-2', 'true'],
    ['libedit2', 'arch', 'pattern match', '^amd', 'true'],
  ])('dpkginfo %s: %s %s "%s" is %s', (name, field, op, value, out) => {
    expect(evaluateTest(debTest([name], field, op, value), deb, debIdx)).toBe(out);
  });

  it('rpminfo: epoch is "(none)" for a package without one, the evr then has 0', () => {
    const t = (field: string, value: string): OvalTest => ({
      ...rpmTest(['kernel'], 'equals', value),
      check: 'all',
      states: [[{ field, datatype: null, operation: 'equals', value }]],
    });
    expect(evaluateTest(t('epoch', '(none)'), inv, idx)).toBe('true');
    expect(evaluateTest(t('epoch', '4'), { ...inv, packages: inv.packages.filter((p) => p.name === 'perl') }, indexByName(inv))).toBe('false');
  });

  it('rpminfo: a name with operation "pattern match" is a regular expression over every installed name (MITRE\'s ^r.m$), "not equal" takes every other name', () => {
    const rpmInv: StrictInventory = {
      family: 'rpm',
      runningKernel: null,
      packages: ['rpm', 'rom', 'ram2', 'xrpm'].map((name) => ({ name, epoch: null, version: name === 'rom' ? '2' : '1', release: '1', arch: 'noarch' })),
    };
    const i = indexByName(rpmInv);
    const byVersion = (names: string[], nameOperation: string, check: string, checkExistence = 'at_least_one_exists'): OvalTest => ({
      ...rpmTest(names, 'equals', '1'),
      nameOperation,
      check,
      checkExistence,
      states: [[{ field: 'version', datatype: null, operation: 'equals', value: '1' }]],
    });
    // ^r.m$ selects rpm (1) and rom (2): "all at version 1" is false, "at least one" true, and two items are not "only one".
    expect(evaluateTest(byVersion(['^r.m$'], 'pattern match', 'all'), rpmInv, i)).toBe('false');
    expect(evaluateTest(byVersion(['^r.m$'], 'pattern match', 'at least one'), rpmInv, i)).toBe('true');
    expect(evaluateTest({ ...byVersion(['^r.m$'], 'pattern match', 'all', 'only_one_exists'), states: [] }, rpmInv, i)).toBe('false');
    // Unanchored: "rpm" also selects xrpm; a variable's values are each a pattern.
    expect(evaluateTest(byVersion(['rpm'], 'pattern match', 'all'), rpmInv, i)).toBe('true');
    expect(evaluateTest(byVersion(['^xr', '^zz'], 'pattern match', 'all'), rpmInv, i)).toBe('true');
    expect(evaluateTest(byVersion(['^zz'], 'pattern match', 'all'), rpmInv, i)).toBe('false');
    expect(evaluateTest(byVersion(['rpm'], 'not equal', 'at least one'), rpmInv, i)).toBe('true');
    // The probe refuses other operations, and a pattern that is no regular expression is an error.
    expect(evaluateTest(byVersion(['RPM'], 'case insensitive equals', 'all'), rpmInv, i)).toBe('error');
    expect(evaluateTest(byVersion(['('], 'pattern match', 'all'), rpmInv, i)).toBe('error');
  });

  it("compares a dpkginfo evr by the state's datatype, as oscap does: evr_string with rpm's rules, debian_evr_string with dpkg's", () => {
    const t = (datatype: string): OvalTest => ({
      ...debTest(['bsdutils'], 'evr', 'equals', '1:2.38.1-5.deb12u3'),
      states: [[{ field: 'evr', datatype, operation: 'equals', value: '1:2.38.1-5.deb12u3' }]],
    });
    expect(evaluateTest(t('evr_string'), deb, debIdx)).toBe('true');
    expect(evaluateTest(t('debian_evr_string'), deb, debIdx)).toBe('false');
  });

  it.each([
    ['0:1.0-1', '1.0-1', 1],
    ['0:1.0-1', '0:1.0-1', 0],
    ['1.0-1', '0:1.0-1', -1],
    ['0:1.0-1', '0:1.0', 1],
    ['0:1.0', '0:1.0-1', -1],
    ['0:1.0-1', ':1.0-1', 0],
    ['1:1.0-1', '0:2.0-1', 1],
  ] as const)('evr_string as OpenSCAP compares it: %s against a state %s is %i (a missing epoch is less than any)', (sys, state, out) => {
    expect(ovalEvrStringCompare(sys, state)).toBe(out);
  });

  it('an rpminfo evr state without an epoch is below every item (oscap: "less than 1.20.7-1.azl3" is false for golang 0:1.20.6-1.azl3)', () => {
    expect(evaluateTest(rpmTest(['golang'], 'less than', '1.20.7-1.azl3'), inv, idx)).toBe('false');
    expect(evaluateTest(rpmTest(['golang'], 'greater than', '1.20.7-1.azl3'), inv, idx)).toBe('true');
  });

  it.each(['all', 'at least one', 'none satisfy', 'only one'])(
    'check "%s" over an item in error is an error, as oscap says for a pattern that does not compile',
    (check) => {
      expect(evaluateTest({ ...debTest(['bsdutils'], 'version', 'pattern match', '('), check }, deb, debIdx)).toBe('error');
    },
  );

  it('collects an item once when a variable names its package twice (found by the dpkginfo differential)', () => {
    const t: OvalTest = { ...debTest(['dpkg', 'dpkg'], 'version', 'equals', '1.21.23'), check: 'only one' };
    expect(evaluateTest(t, deb, debIdx)).toBe('true');
  });

  it('dpkginfo: the probe looks the name\'s value up whatever the operation (oscap 1.3.7: ^dpk.$ finds nothing, "not equal dpkg" finds dpkg)', () => {
    const exists = (names: string[], nameOperation: string): OvalResult =>
      evaluateTest({ ...debTest(names, 'arch', 'equals', 'amd64'), states: [], nameOperation }, deb, debIdx);
    expect(exists(['^dpk.$'], 'pattern match')).toBe('false');
    expect(exists(['dpkg'], 'pattern match')).toBe('true');
    expect(exists(['dpkg'], 'not equal')).toBe('true');
  });
});
