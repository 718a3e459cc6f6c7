// The ssh provider's transport: the OpenSSH client (`ssh`), one multiplexed
// connection per host (ControlMaster=auto, ControlPersist) so a step costs a
// channel, not a handshake. OpenSSH does the host key checking with its own
// known_hosts semantics (hashed entries, markers, several files): nothing here
// parses host keys. Every call has a kill timer; scripts run under `sh -c`
// (through `sudo -n` for a non-root user); file contents go over stdin, never
// in argv. The private key is only ever a path (-i), never read here.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { shQuote } from '../files';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
}

export interface SshSettings {
  /** Private key file (ETCDFLEET_SSH_IDENTITY). */
  identity: string;
  /** known_hosts files OpenSSH consults, in order (ETCDFLEET_SSH_KNOWN_HOSTS, then the spec's keys). */
  knownHosts: string[];
  /** 0700 directory for the control sockets. */
  controlDir: string;
  connectTimeoutSec?: number;
  controlPersistSec?: number;
  /** The OpenSSH client to run (default `ssh` from PATH). */
  sshCommand?: string;
}

/**
 * A local command whose stdout becomes ssh's stdin directly (a pipe between the two processes): bulk data
 * (a release's binaries) then never passes through this process's event loop, which, busy with other
 * activities and clients, slowed a 93 MB copy from 1 s to 4 s when streamed through it.
 */
export interface LocalProducer {
  command: string;
  args: string[];
  cwd?: string;
}

/** What a call sends on stdin: a string, a buffer, a stream (a file, a tar stream) or a local command's output. */
export type SshInput = Buffer | string | Readable | LocalProducer;

const isProducer = (i: SshInput | undefined): i is LocalProducer =>
  typeof i === 'object' && !Buffer.isBuffer(i) && !(i instanceof Readable) && typeof i.command === 'string';

export interface SshResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The `ssh` arguments for one call (options, destination, then the remote command as one string). */
export function sshArgs(t: SshTarget, s: SshSettings, remoteCommand: string): string[] {
  // Socket paths are limited to ~108 bytes: name the socket by a short hash of the target.
  const id = crypto.createHash('sha256').update(`${t.user}@${t.host}:${t.port}`).digest('hex').slice(0, 16);
  const controlDir = controlDirFor(s);
  return [
    '-i',
    s.identity,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${s.knownHosts.map(knownHostsToken).join(' ')}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'UpdateHostKeys=no',
    '-o',
    `ConnectTimeout=${s.connectTimeoutSec ?? 10}`,
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${path.join(controlDir, id)}`,
    '-o',
    `ControlPersist=${s.controlPersistSec ?? 60}`,
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(t.port),
    '-l',
    t.user,
    '--',
    t.host,
    remoteCommand,
  ];
}

function knownHostsToken(file: string): string {
  if (/[\s"]/.test(file)) throw new Error(`known_hosts path ${JSON.stringify(file)} contains whitespace or quotes`);
  return file;
}

/** The remote command for a script: `sh -c '<script>'`, through `sudo -n` unless the user is root. */
export function remoteCommand(user: string, script: string): string {
  const sh = `sh -c ${shQuote(script)}`;
  return user === 'root' ? sh : `sudo -n ${sh}`;
}

/** OpenSSH's messages for a host key it does not know or that changed. */
const HOST_KEY_RE =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (\S+ )?host key is known for|host key for .* has changed|Host key for .* has changed/i;

export function isHostKeyFailure(stderr: string): boolean {
  return HOST_KEY_RE.test(stderr);
}

/** A non-retryable failure naming the host: an unknown or changed host key is never accepted. */
export function hostKeyRefused(t: SshTarget, stderr: string): ApplicationFailure {
  const line =
    stderr
      .split('\n')
      .find((l) => HOST_KEY_RE.test(l))
      ?.trim() ?? 'host key verification failed';
  return ApplicationFailure.nonRetryable(
    `ssh ${t.user}@${t.host}:${t.port}: host key refused (${line}); add the host's key to ETCDFLEET_SSH_KNOWN_HOSTS or the spec's ssh.hostKeys`,
    'HostKeyRefused',
  );
}

/**
 * Where the control sockets go: the configured dir, or (when its path would
 * not fit a socket name, ~108 bytes with ssh's temporary suffix) a per-dir
 * directory under the system's temp dir.
 */
export function controlDirFor(s: Pick<SshSettings, 'controlDir'>): string {
  if (s.controlDir.length <= 64) return s.controlDir;
  const tag = crypto.createHash('sha256').update(s.controlDir).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `etcdfleet-ssh-${tag}`);
}

/** Creates the 0700 socket directory; refuses one that is a symlink or belongs to another user. */
export function ensureControlDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) {
    throw new Error(`${dir} must be a directory owned by this user (ssh control sockets)`);
  }
  if ((st.mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
}

export class SshTransport {
  constructor(
    readonly target: SshTarget,
    readonly settings: SshSettings,
  ) {}

  /** Runs a script on the host; rejects only when ssh itself fails (exit 255) or the timer fires. */
  run(script: string, opts: { stdin?: SshInput; timeoutMs?: number } = {}): Promise<SshResult> {
    const t = this.target;
    ensureControlDir(controlDirFor(this.settings));
    const args = sshArgs(t, this.settings, remoteCommand(t.user, script));
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const input = opts.stdin;
    return new Promise((resolve, reject) => {
      let producer: ReturnType<typeof spawn> | undefined;
      let producerErr = '';
      let producerExit: Promise<number | null> | undefined;
      if (isProducer(input)) {
        producer = spawn(input.command, input.args, { cwd: input.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
        producer.stderr!.on('data', (d: Buffer) => {
          if (producerErr.length < 4096) producerErr += d.toString('utf8');
        });
        const p = producer;
        producerExit = new Promise((res) => {
          p.on('error', (e) => {
            producerErr ||= e.message;
            res(-1);
          });
          p.on('close', (code) => res(code));
        });
      }
      const child = spawn(this.settings.sshCommand ?? 'ssh', args, { stdio: [producer ? producer.stdout! : 'pipe', 'pipe', 'pipe'] });
      // ssh holds its own copy of the pipe: this process never reads it.
      producer?.stdout!.destroy();
      const out: Buffer[] = [];
      let err = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
        producer?.kill('SIGKILL');
      }, timeoutMs);
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => {
        if (err.length < 65536) err += d.toString('utf8');
      });
      child.stdin?.on('error', () => undefined);
      child.on('error', (e) => {
        clearTimeout(timer);
        producer?.kill('SIGKILL');
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        // A remote side that stopped reading early leaves the source paused: close it (and the files it reads).
        if (input instanceof Readable && !input.readableEnded) input.destroy();
        const settle = (produced: number | null | undefined) => {
          if (timedOut) return reject(new Error(`ssh ${t.host}: no answer within ${timeoutMs} ms`));
          if (code === 255 && isHostKeyFailure(err)) return reject(hostKeyRefused(t, err));
          if (code === 255)
            return reject(new Error(`ssh ${t.user}@${t.host}:${t.port} failed: ${err.trim().split('\n').slice(-3).join(' ')}`));
          const failed =
            producer && produced !== 0 ? `local ${(input as LocalProducer).command} exited ${produced}: ${producerErr.trim()}` : '';
          // What was sent is incomplete: whatever the remote side made of it, the call failed.
          if (failed && code === 0) return reject(new Error(`${t.host}: ${failed}`));
          resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout: Buffer.concat(out), stderr: failed ? `${err}\n${failed}` : err });
        };
        if (!producerExit) return settle(undefined);
        // The remote side may end before reading everything (it failed): the producer is not left writing.
        const late = setTimeout(() => producer!.kill('SIGKILL'), 5_000);
        void producerExit.then((c) => {
          clearTimeout(late);
          settle(c);
        });
      });
      if (producer) return;
      if (input === undefined) child.stdin!.end();
      else if (input instanceof Readable) {
        // A source that fails (a file that changed while sent) fails the call instead of sending a short stream.
        input.once('error', (e) => {
          clearTimeout(timer);
          child.kill('SIGKILL');
          reject(e);
        });
        input.pipe(child.stdin!);
      } else child.stdin!.end(input);
    });
  }

  /** Runs a script and returns its stdout; rejects with the host, the exit code and stderr when it fails. */
  async ok(script: string, opts: { stdin?: SshInput; timeoutMs?: number; what?: string } = {}): Promise<string> {
    const r = await this.run(script, opts);
    if (r.code !== 0) {
      const e = new Error(
        `${this.target.host}: ${opts.what ?? 'command'} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`,
      );
      Object.assign(e, { stderr: r.stderr, stdout: r.stdout.toString('utf8') });
      throw e;
    }
    return r.stdout.toString('utf8');
  }
}
