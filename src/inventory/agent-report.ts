import { BulwarkError } from '../core/errors.js';
import { channelCommands } from '../distros/registry.js';
import { collect, DPKG_QUERY_ARGV, REBOOT_MARKER, type ExecResult, type Snapshot, type Transport } from './collector.js';
import { IMAGE_STAMP_PATH } from './image-stamp.js';
import { RPM_QA_ARGV } from './rpm-qa.js';
import { CANONICAL_LIVEPATCH_ARGV, KPATCH_LIST_ARGV, LIVEPATCH_PACKAGES_ARGV, LIVEPATCH_SYSFS } from './livepatch.js';

/**
 * Reads a report the agent (src/agent/bulwark-agent.sh) sends: a `bulwark-report 1` line, then
 * sections `@@os-release`, `@@uname` (kernel release, machine), `@@managers` (package managers
 * found), `@@reboot` (yes/no/unknown), `@@boot` (the boot id, which a reboot changes, then the
 * boot time in seconds since the epoch, /proc/stat's btime), `@@image`
 * (/etc/bulwark-image, the image build the host was made from) and
 * `@@packages rpm|dpkg` in the fixed formats of `rpm -qa --queryformat` and `dpkg-query -W -f`
 * that SSH collection uses too. Since issue #16, `@@files` (the module state files and ESM apt
 * sources the collector reads for a host's streams and channels: `=DIR/` for a directory that
 * exists, `=PATH` and the file's lines each after one space) and `@@channel-status` (what the
 * subscription client, `pro status --format json`, said; its lines each after one space). A
 * report without `@@files` (an older agent) leaves the streams and channels not known.
 * that SSH collection uses too. Live patches (livepatch.ts): `@@livepatch-sysfs` (`<module>
 * <enabled>` per loaded module; sent by every agent that looks, so its absence means an older
 * agent: not known), and the answers of `kpatch list` (`@@livepatch-kpatch`), of the rpm query
 * for the live patch packages (`@@livepatch-package`) and of
 * `canonical-livepatch status --format json` (`@@livepatch-canonical`), each when it answered.
 */
export interface AgentReport extends Snapshot {
  /** Package managers found on the host (tdnf, dnf5, dnf, apt-get). */
  managers: string[];
  /** /proc/sys/kernel/random/boot_id: a new one after every boot (older agents do not send it). */
  bootId: string | null;
  /** When the host booted (/proc/stat btime, ISO 8601): the line after the boot id (older agents do not send it). */
  bootedAt: string | null;
}

const key = (argv: readonly string[]): string => argv.join('\0');
const answer = (stdout: string | null): ExecResult =>
  stdout === null ? { code: 1, stdout: '', stderr: 'not in the report' } : { code: 0, stdout, stderr: '' };
const absent: ExecResult = { code: 127, stdout: '', stderr: 'not in the report' };
const noSection = (name: string): ExecResult => ({ code: 127, stdout: '', stderr: `the report has no @@${name} section` });
/** A section's lines as the agent indented them (one space before each), as they were. */
const unindented = (lines: readonly string[]): string => lines.map((l) => (l.startsWith(' ') ? l.slice(1) : l)).join('\n');

/** `@@files`: the directories reported (with the names of their files) and each file's text. */
function reportedFiles(lines: readonly string[]): { dirs: Map<string, string[]>; files: Map<string, string[]> } {
  const dirs = new Map<string, string[]>();
  const files = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of lines) {
    if (line.startsWith(' ')) {
      current?.push(line);
      continue;
    }
    current = null;
    const m = /^=(\/(?:[A-Za-z0-9._-]+\/)+)$|^=(\/(?:[A-Za-z0-9._-]+\/)+)([A-Za-z0-9._+-]+)$/.exec(line);
    if (m?.[1] !== undefined && !m[1].includes('/../') && !m[1].includes('/./')) dirs.set(m[1].slice(0, -1), []);
    else if (m?.[2] !== undefined && m[3] !== undefined && m[3] !== '..' && m[3] !== '.') {
      const names = dirs.get(m[2].slice(0, -1));
      // Only files of a directory reported before them.
      if (names === undefined || files.has(`${m[2]}${m[3]}`)) continue;
      names.push(m[3]);
      files.set(`${m[2]}${m[3]}`, (current = []));
    }
  }
  return { dirs, files };
}

/**
 * A report as a transport: the agent ran the commands on its host; their answers are replayed to
 * the collector, which decides exactly as it does over SSH. `@@reboot` is the agent's verdict by
 * the collector's own rule (rebootRequired, which bulwark-agent.sh follows step by step), given
 * back as the answers that lead to it: yes — the marker is there; no — `needs-restarting -r`
 * said 0 (or a marker writer is there: the same verdict); unknown — neither.
 */
export function reportTransport(sections: ReadonlyMap<string, string[]>, where: string): Transport {
  const os = (sections.get('os-release') ?? []).join('\n');
  const uname = sections.get('uname') ?? [];
  const reboot = sections.get('reboot')?.[0]?.trim();
  const image = sections.get('image');
  const rpm = sections.get('packages rpm');
  const dpkg = sections.get('packages dpkg');
  const sysfs = (sections.get('livepatch-sysfs') ?? []).map((l) => l.trim().split(' ')).filter((w) => w.length === 2 && w[0] !== '');
  const section = (name: string): ExecResult => {
    const lines = sections.get(name);
    return lines === undefined ? absent : answer(lines.join('\n'));
  };
  const replies = new Map<string, ExecResult>([
    [key(['cat', '/etc/os-release']), answer(os)],
    [key(['uname', '-r']), answer(uname[0]?.trim() ?? '')],
    [key(['uname', '-m']), answer(uname[1]?.trim() ?? '')],
    [key(['cat', IMAGE_STAMP_PATH]), answer(image === undefined ? null : image.join('\n'))],
    [key(RPM_QA_ARGV), rpm === undefined ? noSection('packages rpm') : answer(rpm.join('\n'))],
    [key(DPKG_QUERY_ARGV), dpkg === undefined ? noSection('packages dpkg') : answer(dpkg.join('\n'))],
    [key(['rpm', '--version']), rpm === undefined ? absent : answer('')],
    [key(['dpkg-query', '--version']), dpkg === undefined ? absent : answer('')],
    [key(['test', '-e', '/var/lib/dpkg/status']), answer(dpkg === undefined ? null : '')],
    [key(['test', '-e', REBOOT_MARKER]), answer(reboot === 'yes' ? '' : null)],
    [key(['needs-restarting', '-r']), reboot === 'no' ? answer('') : absent],
    [key(['ls', '-1', LIVEPATCH_SYSFS]), sysfs.length === 0 ? absent : answer(sysfs.map((w) => w[0]).join('\n'))],
    ...sysfs.map((w): [string, ExecResult] => [key(['cat', `${LIVEPATCH_SYSFS}/${w[0] ?? ''}/enabled`]), answer(w[1] ?? '')]),
    [key(KPATCH_LIST_ARGV), section('livepatch-kpatch')],
    [key(LIVEPATCH_PACKAGES_ARGV), section('livepatch-package')],
    [key(CANONICAL_LIVEPATCH_ARGV), section('livepatch-canonical')],
  ]);
  // Streams and channels (inventory/streams.ts): `ls -1` of a reported directory, `cat` of a
  // reported file (never in place of an answer above), the subscription client's status.
  const { dirs, files } = reportedFiles(sections.get('files') ?? []);
  for (const [dir, names] of dirs) replies.set(key(['ls', '-1', dir]), answer(names.join('\n')));
  for (const [path, lines] of files) if (!replies.has(key(['cat', path]))) replies.set(key(['cat', path]), answer(unindented(lines)));
  const status = sections.get('channel-status');
  if (status !== undefined) for (const c of channelCommands) replies.set(key(c), answer(unindented(status)));
  return {
    id: 'agent',
    where,
    live: true,
    failure: { code: 'input.invalid' },
    exec: (argv) => Promise.resolve(replies.get(key(argv)) ?? (argv[0] === 'test' ? answer(null) : absent)),
  };
}

/**
 * Parses a report and collects it with the host collector (collector.ts), as SSH does.
 * @example await parseAgentReport(text, 'report of agent 0123456789abcdef')
 */
export async function parseAgentReport(text: string, where: string): Promise<AgentReport> {
  const lines = text.split('\n');
  if (lines[0] !== 'bulwark-report 1') throw new BulwarkError('input.invalid', `${where}: not a bulwark-report 1`);
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = line.startsWith('@@') ? /^@@([a-z-]+(?: (?:rpm|dpkg))?)$/.exec(line) : null;
    if (m?.[1] !== undefined) {
      if (sections.has(m[1])) throw new BulwarkError('input.invalid', `${where}: section @@${m[1]} twice`);
      current = [];
      sections.set(m[1], current);
    } else if (current !== null) current.push(line);
  }
  const pkgKeys = [...sections.keys()].filter((k) => k.startsWith('packages '));
  if (!sections.has('os-release') || !sections.has('uname') || pkgKeys.length === 0)
    throw new BulwarkError('input.invalid', `${where}: a report needs @@os-release, @@uname and @@packages`);
  if (pkgKeys.length > 1) throw new BulwarkError('input.invalid', `${where}: a report has one @@packages section`);
  const snap = await collect(reportTransport(sections, where));
  return {
    ...snap,
    // An older agent sends no @@files: its host's streams and channels are not known (not "none").
    streams: sections.has('files') ? snap.streams : { modules: null, channels: null },
    // An agent from before live patches were collected does not send @@livepatch-sysfs: not known.
    livePatches: sections.has('livepatch-sysfs') ? snap.livePatches : null,
    managers: (sections.get('managers') ?? []).map((l) => l.trim()).filter((l) => /^(tdnf|dnf5|dnf|apt-get)$/.test(l)),
    bootId: bootIdOf(sections.get('boot')?.[0]),
    bootedAt: bootTimeOf(sections.get('boot')?.[1]),
  };
}

/** A boot id as the kernel prints it (a UUID); anything else is not one. */
export function bootIdOf(line: string | undefined): string | null {
  const t = line?.trim().toLowerCase() ?? '';
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t) ? t : null;
}

/** A boot time as /proc/stat's btime gives it (seconds since the epoch), as ISO 8601; anything else is not one. */
export function bootTimeOf(line: string | undefined): string | null {
  const t = line?.trim() ?? '';
  if (!/^\d{1,11}$/.test(t)) return null;
  const ms = Number(t) * 1000;
  return ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : null;
}
