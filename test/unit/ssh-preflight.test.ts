// The ssh preflight's decisions from what a host reports: its OS from
// os-release text, its architecture against the releases the worker has, and
// the script output as a whole (systemd, clock, disk, ports).
import { archProblem, osReleaseProblem, preflightProblems } from '../../activities/hosts/ssh/preflight';

const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';

describe('os-release', () => {
  it.each([
    ['Debian', DEBIAN],
    ['Ubuntu', 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'],
    ['Rocky Linux', 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'],
    ['RHEL', 'ID="rhel"\nID_LIKE="fedora"\n'],
    ['AlmaLinux', "ID='almalinux'\n"],
    ['openSUSE Leap', 'ID="opensuse-leap"\nID_LIKE="suse opensuse"\n'],
    ['SLES', 'ID="sles"\nID_LIKE="suse"\n'],
    ['Linux Mint (like ubuntu)', 'ID=linuxmint\nID_LIKE="ubuntu debian"\n'],
    ['Amazon Linux', 'ID="amzn"\nID_LIKE="centos rhel fedora"\n'],
  ])('accepts %s', (_, text) => expect(osReleaseProblem(text)).toBeUndefined());

  it('refuses an OS outside the supported families, naming it', () => {
    expect(osReleaseProblem('NAME="Plan 9"\nID=plan9\nPRETTY_NAME="Plan 9 from Bell Labs"\n')).toMatch(
      /^unsupported OS Plan 9 from Bell Labs: ID plan9 is not one of debian, ubuntu, rhel/,
    );
    expect(osReleaseProblem('NAME="Plan 9"\nID=plan9\n')).toMatch(/^unsupported OS Plan 9: ID plan9 is not one of/);
    expect(osReleaseProblem('ID=alpine\n')).toMatch(/^unsupported OS alpine: ID alpine is not one of/);
    expect(osReleaseProblem('ID=gentoo\nID_LIKE=\n')).toMatch(/ID gentoo is not one of/);
    expect(osReleaseProblem('ID=void\nID_LIKE="musl"\n')).toMatch(/ID void \(like musl\) is not one of/);
  });

  it('refuses a host without os-release', () => {
    expect(osReleaseProblem('')).toMatch(/no \/etc\/os-release/);
    expect(osReleaseProblem('NAME=x\n')).toMatch(/no \/etc\/os-release/);
  });
});

describe('architecture', () => {
  it('accepts the architecture of the releases the worker fetches (linux-amd64) and names the others', () => {
    expect(archProblem('x86_64')).toBeUndefined();
    expect(archProblem('aarch64')).toBe("architecture aarch64 (arm64): the worker's etcd releases are linux-amd64 only");
    expect(archProblem('s390x')).toMatch(/s390x \(s390x\)/);
    expect(archProblem('mips')).toBe("unsupported architecture mips: no etcd release for it (the worker's releases are linux-amd64)");
    expect(archProblem('')).toMatch(/unsupported architecture unknown/);
  });
});

describe('preflight findings', () => {
  const os = DEBIAN.trim()
    .split('\n')
    .map((l) => `os.${l}`)
    .join('\n');
  const good = `systemd=yes\nkernel=Linux\nmissing=\narch=x86_64\n${os}\nnow=1000\nfree=5368709120\nours=0\nbusy=`;
  it('accepts a good host and names every problem of a bad one', () => {
    expect(preflightProblems(good, 1002)).toEqual([]);
    const bad = preflightProblems(
      'systemd=no\nkernel=Linux\narch=mips\nos.ID=plan9\nnow=1000\nfree=1048576\nours=0\nbusy= 2379 2380',
      1100,
    );
    expect(bad).toEqual([
      'systemd is not running the host',
      expect.stringMatching(/^unsupported OS plan9: ID plan9 is not one of/),
      "unsupported architecture mips: no etcd release for it (the worker's releases are linux-amd64)",
      "clock is 100s off from the worker's",
      '1 MiB free for the data dir, need 1024 MiB',
      'ports already in use: 2379 2380',
    ]);
    expect(preflightProblems(good.replace('kernel=Linux', 'kernel=FreeBSD'), 1000)).toEqual([
      'unsupported OS: kernel FreeBSD, etcd hosts run Linux',
    ]);
    expect(preflightProblems(good.replace(os, ''), 1000)).toEqual([expect.stringMatching(/no \/etc\/os-release/)]);
    expect(preflightProblems(good.replace('missing=', 'missing= tar base64'), 1000)).toEqual([
      expect.stringMatching(/^missing commands: tar, base64 \(the service runs tar, base64, sha256sum/),
    ]);
    // Our own etcd.service holding the ports is a retried provisioning, not a conflict.
    expect(preflightProblems(good.replace('ours=0\nbusy=', 'ours=412\nbusy= 2379'), 1000)).toEqual([]);
  });
});
