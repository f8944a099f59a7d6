import { describe, expect, it } from 'vitest';
import { esmSources, proStatusChannels } from '../distros/ubuntu/pro.js';
import { collect, DPKG_QUERY_ARGV, type ExecResult, type Transport } from './collector.js';
import { RPM_QA_ARGV } from './rpm-qa.js';
import { enabledModules } from './streams.js';

function scripted(answers: Record<string, Partial<ExecResult>>): Transport {
  return {
    id: 'test',
    where: 'root@h',
    live: false,
    failure: { code: 'target.unreachable' },
    exec: (argv) => {
      const a = answers[argv.join(' ')];
      return Promise.resolve(
        a === undefined ? { code: argv[0] === 'test' ? 1 : 127, stdout: '', stderr: 'not found' } : { code: 0, stdout: '', stderr: '', ...a },
      );
    },
  };
}

describe('module streams and subscription channels of a host', () => {
  it('reads libdnf module state files: enabled (and installed) streams only', () => {
    expect(enabledModules('[nodejs]\nname=nodejs\nstream=20\nprofiles=\nstate=enabled\n')).toEqual(['nodejs:20']);
    expect(enabledModules('[ruby]\nname=ruby\nstream=3.1\nprofiles=common\nstate=disabled\n')).toEqual([]);
    expect(enabledModules('[perl]\nname=perl\nstream=\nstate=enabled\n[php]\nname=php\nstream=8.2\nstate=installed\n')).toEqual(['php:8.2']);
  });

  it('reads `pro status --format json` and apt sources pointing at esm.ubuntu.com', () => {
    const status = JSON.stringify({
      _schema_version: '0.1',
      attached: true,
      services: [
        { name: 'esm-apps', entitled: 'yes', status: 'enabled' },
        { name: 'esm-infra', entitled: 'yes', status: 'disabled' },
        { name: 'livepatch', entitled: 'yes', status: 'enabled' },
      ],
    });
    expect(proStatusChannels(status)).toEqual(['Ubuntu Pro (esm-apps)', 'Ubuntu Pro (esm)']);
    expect(proStatusChannels('{"attached": false, "services": []}')).toEqual([]);
    expect(proStatusChannels('not json')).toBeNull();
    expect(esmSources('Types: deb\nURIs: https://esm.ubuntu.com/apps/ubuntu\nSuites: noble-apps-security noble-apps-updates\nComponents: main\n')).toEqual([
      'Ubuntu Pro (esm-apps)',
      'Ubuntu Pro (esm)',
    ]);
    expect(esmSources('# deb https://esm.ubuntu.com/infra/ubuntu focal-infra-security main\n')).toEqual([]);
    expect(esmSources('Types: deb\nURIs: https://esm.ubuntu.com/infra/ubuntu\nEnabled: no\n')).toEqual([]);
  });

  it('the collector asks the client first, then the apt sources; rpm hosts list /etc/dnf/modules.d', async () => {
    const ubuntu = {
      'cat /etc/os-release': { stdout: 'ID=ubuntu\nVERSION_ID="20.04"\n' },
      'dpkg-query --version': {},
    };
    const dpkg = { stdout: 'openssl\t1.1.1f-1ubuntu2.24\tamd64\topenssl\t1.1.1f-1ubuntu2.24\tii \n' };
    const answers = (t: Transport) => collect(t).then((s) => s.streams);
    const argvDpkg = DPKG_QUERY_ARGV.join(' ');
    expect(
      await answers(
        scripted({ ...ubuntu, [argvDpkg]: dpkg, 'pro status --format json': { stdout: '{"services":[{"name":"esm-infra","status":"enabled"}]}' } }),
      ),
    ).toEqual({
      modules: null,
      channels: ['Ubuntu Pro (esm)', 'Ubuntu Pro (esm-infra)'],
    });
    expect(
      await answers(
        scripted({
          ...ubuntu,
          [argvDpkg]: dpkg,
          'ls -1 /etc/apt/sources.list.d': { stdout: 'ubuntu-esm-apps.sources\nother.list\n' },
          'cat /etc/apt/sources.list.d/ubuntu-esm-apps.sources': { stdout: 'Types: deb\nURIs: https://esm.ubuntu.com/apps/ubuntu\n' },
        }),
      ),
    ).toEqual({ modules: null, channels: ['Ubuntu Pro (esm)', 'Ubuntu Pro (esm-apps)'] });
    expect(
      await answers(
        scripted({
          'cat /etc/os-release': { stdout: 'ID=rocky\nVERSION_ID="9.4"\n' },
          [RPM_QA_ARGV.join(' ')]: { stdout: 'bash\t0\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\n' },
          'ls -1 /etc/dnf/modules.d': { stdout: 'nodejs.module\nruby.module\n' },
          'cat /etc/dnf/modules.d/nodejs.module': { stdout: '[nodejs]\nname=nodejs\nstream=20\nstate=enabled\n' },
          'cat /etc/dnf/modules.d/ruby.module': { stdout: '[ruby]\nname=ruby\nstream=3.1\nstate=disabled\n' },
        }),
      ),
    ).toEqual({ modules: ['nodejs:20'], channels: null });
  });
});
