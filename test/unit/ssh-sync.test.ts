// The ssh provider's one-stream install: the tar writer (extracted by the
// system's tar) and the script that applies a plan on the host.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { tarStream } from '../../activities/hosts/ssh/tar';
import { applyScript, placeFilesScript, sumsMatchScript } from '../../activities/hosts/ssh/sync';

describe('tar stream', () => {
  it('is read by tar: in-memory contents and streamed files, byte for byte', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tar-'));
    try {
      const big = path.join(dir, 'big');
      fs.writeFileSync(big, Buffer.alloc(70_001, 7));
      const chunks: Buffer[] = [];
      for await (const c of tarStream([
        { name: 'f0', content: 'hello\n' },
        { name: 'f1', content: Buffer.alloc(0) },
        { name: 'bin/etcd', file: big },
      ]))
        chunks.push(c as Buffer);
      const archive = Buffer.concat(chunks);
      expect(archive.length % 512).toBe(0);
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      const r = spawnSync('tar', ['-x', '-f', '-', '-C', out], { input: archive });
      expect(r.stderr.toString()).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(out, 'f0'), 'utf8')).toBe('hello\n');
      expect(fs.statSync(path.join(out, 'f1')).size).toBe(0);
      expect(fs.readFileSync(path.join(out, 'bin/etcd')).equals(fs.readFileSync(big))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses names it cannot write as ustar', async () => {
    await expect(text(tarStream([{ name: '../x', content: 'x' }]))).rejects.toThrow(/not supported/);
  });
});

describe('apply script', () => {
  const release = {
    version: 'v3.5.35',
    dir: '/opt/etcd/v3.5.35',
    binDir: '/cache/bin',
    available: ['etcd', 'etcdctl'],
    sums: 'aa  etcd\nbb  etcdctl\n',
  };

  it('verifies the checksums before the release dir appears, then swaps links by rename', () => {
    const s = applyScript({ release: { ...release, send: true, link: true } }, 'files');
    const check = s.indexOf('sha256sum -c');
    expect(check).toBeGreaterThan(s.indexOf('tar -x -f - -C "$s"'));
    expect(s.indexOf('mv -T "$s/bin" \'/opt/etcd/v3.5.35\'')).toBeGreaterThan(check);
    expect(s).toContain('mv -Tf /usr/local/bin/.etcd.tmp /usr/local/bin/etcd');
    // No etcdutl in this release: a stale link goes.
    expect(s).toContain('rm -f /usr/local/bin/etcdutl');
    expect(s).toContain(`trap 'rm -rf "$s"' EXIT`);
  });

  it('takes the binaries alone (no member files) as a tar of their own names, extracted into the staging bin dir', () => {
    const s = applyScript({ release: { ...release, send: true, link: false } }, 'binaries');
    expect(s).toContain('mkdir "$s/bin" && tar -x -f - -C "$s/bin" --no-same-owner');
    expect(s).not.toContain('tar -x -f - -C "$s" ');
    expect(s.indexOf('sha256sum -c')).toBeGreaterThan(s.indexOf('tar -x'));
  });

  it('stages without touching the links, and writes files from the staging dir with mode and owner', () => {
    expect(applyScript({ release: { ...release, send: true, link: false } }, 'files')).not.toContain('/usr/local/bin');
    const s = applyScript({ files: [{ path: '/etc/ssl/etcd/etcd-key.pem', content: 'k', mode: 0o600, owner: 'etcd' }] }, 'files');
    expect(s).toContain(`cmp -s "$s/f0" '/etc/ssl/etcd/etcd-key.pem' && [ "$(stat -c %a:%U '/etc/ssl/etcd/etcd-key.pem')" = '600:etcd' ]`);
    expect(s).toContain(`trap 'rm -rf "$s" "$t0"' EXIT`);
    expect(s).toContain('install -m 0600 -o etcd -g etcd "$s/f0" "$t0"');
    expect(s).toContain('mv -f "$t0" \'/etc/ssl/etcd/etcd-key.pem\'');
    expect(s).not.toContain('sha256sum');
  });
});

describe('staged release', () => {
  it('is only linked when the record of its check matches, else the script changes nothing and exits 7', () => {
    const rel = { version: 'v3.5.35', dir: '/opt/etcd/v3.5.35', binDir: '/b', available: ['etcd', 'etcdctl'], sums: 'aa  etcd\n' };
    const s = applyScript(
      {
        files: [{ path: '/etc/etcd/config.yaml', content: 'x', mode: 0o644, owner: 'root' }],
        release: { ...rel, send: false, link: true, staged: true },
      },
      'files',
    );
    const check = s.indexOf("cmp -s '/opt/etcd/v3.5.35/.etcdfleet-sha256' -");
    expect(check).toBeGreaterThan(0);
    expect(s.indexOf('exit 7')).toBeLessThan(s.indexOf('file 0'));
    expect(s).not.toContain('sha256sum');
    // A release copied now records the sums it was checked against.
    expect(applyScript({ release: { ...rel, send: true, link: false } }, 'files')).toContain(
      "cat > .etcdfleet-sha256 && { [ \"$(openssl dgst -sha256 -r 'etcd' 2>/dev/null </dev/null)\" = 'aa *etcd' ] || sha256sum -c --quiet .etcdfleet-sha256; }",
    );
  });
});

describe('release checksums on the host', () => {
  // Runs the check in a dir holding two "binaries", with PATH limited to `tools` (name -> what runs it).
  function check(tools: Record<string, string>, corrupt: boolean, fromStdin: boolean) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-sums-'));
    try {
      const bin = path.join(dir, 'tools');
      const rel = path.join(dir, 'rel');
      fs.mkdirSync(bin);
      fs.mkdirSync(rel);
      for (const [name, target] of Object.entries(tools)) fs.symlinkSync(target, path.join(bin, name));
      fs.writeFileSync(path.join(rel, 'etcd'), Buffer.alloc(100_000, 1));
      fs.writeFileSync(path.join(rel, 'etcdctl'), 'ctl');
      const sums = spawnSync('sha256sum', ['etcd', 'etcdctl'], { cwd: rel }).stdout.toString();
      fs.writeFileSync(path.join(rel, 'SUMS'), sums);
      if (corrupt) fs.appendFileSync(path.join(rel, 'etcdctl'), 'x');
      const script = `cd ${rel} && ${sumsMatchScript(sums, fromStdin ? '--quiet --status' : '--quiet SUMS')}`;
      return spawnSync('/bin/sh', ['-c', script], { env: { PATH: bin }, input: fromStdin ? sums : '' }).status;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const which = (cmd: string) =>
    spawnSync('/bin/sh', ['-c', `command -v ${cmd}`])
      .stdout.toString()
      .trim();
  const failing = path.join(os.tmpdir(), 'ssh-sums-false');
  beforeAll(() => fs.writeFileSync(failing, '#!/bin/sh\nexit 9\n', { mode: 0o755 }));
  afterAll(() => fs.rmSync(failing, { force: true }));

  it('uses openssl dgst where the host has it (sha256sum not run), and sha256sum -c when openssl disagrees', () => {
    const openssl = which('openssl');
    expect(check({ openssl, sha256sum: failing }, false, false)).toBe(0);
    expect(check({ openssl, sha256sum: failing }, false, true)).toBe(0);
    expect(check({ openssl, sha256sum: which('sha256sum') }, true, false)).not.toBe(0);
    expect(check({ openssl, sha256sum: which('sha256sum') }, true, true)).not.toBe(0);
  });

  it('falls back to sha256sum -c without openssl', () => {
    const sha256sum = which('sha256sum');
    expect(check({ sha256sum }, false, false)).toBe(0);
    expect(check({ sha256sum }, false, true)).toBe(0);
    expect(check({ sha256sum }, true, false)).not.toBe(0);
    expect(check({ sha256sum: failing }, false, false)).toBe(9);
  });
});

const asRoot = process.getuid?.() === 0 ? it : it.skip;

describe('placing files on the host', () => {
  // Runs the script for `files` (contents staged as $s/f<i>) with `sync` logging its arguments; what it printed and synced.
  function place(dir: string, files: { path: string; content: string; mode: number }[]) {
    const s = path.join(dir, 'stage');
    const tools = path.join(dir, 'tools');
    fs.rmSync(s, { recursive: true, force: true });
    fs.mkdirSync(s);
    fs.mkdirSync(tools, { recursive: true });
    fs.writeFileSync(path.join(tools, 'sync'), `#!/bin/sh\necho "$@" >> ${dir}/synced\nexec /bin/sync "$@"\n`, { mode: 0o755 });
    fs.rmSync(path.join(dir, 'synced'), { force: true });
    files.forEach((f, i) => fs.writeFileSync(path.join(s, `f${i}`), f.content));
    const plan = files.map((f) => ({ path: f.path, mode: f.mode, owner: 'root' }));
    const script = [
      'set -e',
      'umask 077',
      `s=${s}`,
      ...placeFilesScript(plan, (i) => `"$s/f${i}"`),
      ...files.map((_, i) => `echo "$r${i}"`),
    ].join('\n');
    const r = spawnSync('/bin/sh', ['-c', script], { env: { PATH: `${tools}:${process.env.PATH}` } });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const synced = fs.existsSync(path.join(dir, 'synced')) ? fs.readFileSync(path.join(dir, 'synced'), 'utf8').trim().split('\n') : [];
    return { results: r.stdout.toString().trim().split('\n'), synced };
  }

  asRoot('writes what differs with mode and owner, syncs the temp files in one call, renames, and leaves no temp file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-place-'));
    try {
      const a = path.join(dir, 'etc/a.yaml');
      const b = path.join(dir, 'ssl/sub/b-key.pem');
      const first = place(dir, [
        { path: a, content: 'A', mode: 0o644 },
        { path: b, content: 'B', mode: 0o600 },
      ]);
      expect(first.results).toEqual(['changed', 'changed']);
      expect(first.synced).toHaveLength(1);
      expect(first.synced[0].split(' ')).toHaveLength(2);
      expect(fs.readFileSync(b, 'utf8')).toBe('B');
      expect(fs.statSync(a).mode & 0o777).toBe(0o644);
      expect(fs.statSync(b).mode & 0o777).toBe(0o600);
      const inode = fs.statSync(a).ino;

      fs.chmodSync(b, 0o640);
      const second = place(dir, [
        { path: a, content: 'A', mode: 0o644 },
        { path: b, content: 'B', mode: 0o600 },
      ]);
      expect(second.results).toEqual(['same', 'changed']);
      expect(second.synced).toEqual([expect.stringMatching(/\/ssl\/sub\/\.b-key\.pem\.tmp-\d+$/)]);
      expect(fs.statSync(a).ino).toBe(inode);
      expect(fs.statSync(b).mode & 0o777).toBe(0o600);

      expect(place(dir, [{ path: a, content: 'A', mode: 0o644 }])).toEqual({ results: ['same'], synced: [] });
      const left = (d: string): string[] => fs.readdirSync(d).filter((n) => n.includes('.tmp-'));
      expect([...left(path.dirname(a)), ...left(path.dirname(b))]).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
