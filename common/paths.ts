// Where a spec may put a member's directories and etcd's log files. Pure (no
// Node built-ins, no import of spec.ts): spec.ts builds its schema from these.
//
// Paths are the host's paths (the local provider puts them under the member's
// root, the ssh provider uses them as they are), so the same rules hold for
// both: data, config and certificate directories are proper subdirectories,
// never `/`, a system root such as /etc or a binary directory; the data dir is
// apart from the config and certificate dirs (restore and member removal
// rename the data dir aside, whatever is inside goes with it); log files are
// never written into binary or system directories, nor into the member's own
// directories (e.g. over etcdctl.sh or a key).
import { z } from 'zod';

const ABS_PATH_RE = /^\/[^\0\n\r]*$/;

/** `/a//b/./c/` → `/a/b/c`; `..` is refused before this is used. */
export function normalizeAbsPath(p: string): string {
  const segs = p.split('/').filter((s) => s !== '' && s !== '.');
  return `/${segs.join('/')}`;
}

/** True when `p` is `dir` or inside it (both normalized). */
export function isWithin(p: string, dir: string): boolean {
  return p === dir || dir === '/' || p.startsWith(`${dir}/`);
}

/** Directories that are never a member's data, config or certificate dir themselves. */
export const SYSTEM_ROOTS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/etc/ssl',
  '/usr/local',
  '/var/lib',
  '/var/log',
  '/var/run',
  '/var/tmp',
] as const;

/** Trees holding binaries or kernel/device files: nothing of a member goes inside them. */
export const BINARY_TREES = [
  '/bin',
  '/sbin',
  '/usr',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
  '/proc',
  '/sys',
  '/dev',
  '/opt/etcd',
] as const;

/** Log files additionally stay out of configuration and runtime trees. */
const LOG_FORBIDDEN_TREES = [...BINARY_TREES, '/etc', '/run', '/var/run'] as const;

const AbsPath = z
  .string()
  .regex(ABS_PATH_RE, 'must be an absolute path')
  .refine((s) => !s.split('/').includes('..'), 'must not contain ".." segments');

/** Why `p` cannot be a member directory, or undefined when it can. */
export function memberDirProblem(p: string): string | undefined {
  const n = normalizeAbsPath(p);
  if (n === '/') return 'must be a subdirectory, not the root';
  if ((SYSTEM_ROOTS as readonly string[]).includes(n)) return `must be a subdirectory of ${n}, not ${n} itself`;
  const tree = BINARY_TREES.find((t) => isWithin(n, t));
  if (tree) return `must not be inside ${tree} (binaries and system files)`;
  return undefined;
}

/** Why `p` cannot be a log output file, or undefined when it can. */
export function logFileProblem(p: string): string | undefined {
  const n = normalizeAbsPath(p);
  if (n === '/' || p.endsWith('/')) return 'must be a file path';
  if ((SYSTEM_ROOTS as readonly string[]).includes(n)) return `must be a file path, not ${n}`;
  const tree = LOG_FORBIDDEN_TREES.find((t) => isWithin(n, t));
  if (tree) return `must not be inside ${tree} (binaries, configuration and system files)`;
  return undefined;
}

function refinePath(problem: (p: string) => string | undefined) {
  return (s: string, ctx: z.core.$RefinementCtx<string>) => {
    // Malformed paths already have their issue from AbsPath.
    if (!ABS_PATH_RE.test(s) || s.split('/').includes('..')) return;
    const message = problem(s);
    if (message) ctx.addIssue({ code: 'custom', message });
  };
}

/** A member's data, config or certificate directory. */
export const MemberDirPath = AbsPath.superRefine(refinePath(memberDirProblem));
/** An absolute log output file. */
export const LogFilePath = AbsPath.superRefine(refinePath(logFileProblem));

type Dirs = { dataDir?: string; confDir?: string; certsDir?: string };
type PathIssue = { path: (string | number)[]; message: string };

/**
 * Cross-field rules over the effective paths of every member (its own
 * `paths` over the cluster's): the data dir apart from the config and
 * certificate dirs, log files outside all three. Issues name the field the
 * user wrote (the member's override, else the cluster's).
 */
export function pathLayoutIssues(spec: {
  paths: Required<Dirs>;
  /** undefined: a member whose paths failed their own schema (its effective dirs are unknown). */
  members: ({ paths?: Dirs } | undefined)[];
  /** undefined: an output that failed its own schema. */
  logging: { outputs: (string | undefined)[] };
}): PathIssue[] {
  const issues = new Map<string, PathIssue>();
  const add = (path: (string | number)[], message: string) => {
    const key = path.join('.');
    if (!issues.has(key)) issues.set(key, { path, message });
  };
  spec.members.forEach((m, i) => {
    if (!m) return;
    const where = (f: keyof Dirs) => (m.paths?.[f] !== undefined ? ['members', i, 'paths', f] : ['paths', f]);
    const eff = (f: keyof Dirs) => normalizeAbsPath(m.paths?.[f] ?? spec.paths[f]);
    const data = eff('dataDir');
    // A dir that breaks a rule of its own already has its issue.
    if (memberDirProblem(data)) return;
    for (const f of ['confDir', 'certsDir'] as const) {
      const other = eff(f);
      if (memberDirProblem(other)) continue;
      if (isWithin(data, other) || isWithin(other, data)) {
        // Blame the field this member overrides, if any; else the data dir.
        const blame = m.paths?.[f] !== undefined && m.paths?.dataDir === undefined ? where(f) : where('dataDir');
        add(
          blame,
          `the data dir (${data}) and ${f} (${other}) must not overlap: the data dir is renamed aside on restore and member removal`,
        );
      }
    }
    spec.logging.outputs.forEach((o, j) => {
      if (o === undefined || !o.startsWith('/') || logFileProblem(o)) return;
      const n = normalizeAbsPath(o);
      for (const f of ['dataDir', 'confDir', 'certsDir'] as const) {
        if (isWithin(n, eff(f))) add(['logging', 'outputs', j], `must not be inside the member's ${f} (${eff(f)})`);
      }
    });
  });
  return [...issues.values()];
}

/**
 * Every path rule above over a (normalized) spec, for the activities that
 * create or rename member directories: a spec that reached the worker without
 * the API's validation is refused there too.
 */
export function specPathIssues(spec: { paths: Required<Dirs>; members: { paths?: Dirs }[]; logging: { outputs: string[] } }): PathIssue[] {
  const out: PathIssue[] = [];
  const dirs = (p: Dirs | undefined, at: (string | number)[]) => {
    for (const f of ['dataDir', 'confDir', 'certsDir'] as const) {
      const v = p?.[f];
      const message =
        v === undefined
          ? undefined
          : !ABS_PATH_RE.test(v) || v.split('/').includes('..')
            ? 'must be an absolute path without ".."'
            : memberDirProblem(v);
      if (message) out.push({ path: [...at, f], message });
    }
  };
  dirs(spec.paths, ['paths']);
  spec.members.forEach((m, i) => dirs(m.paths, ['members', i, 'paths']));
  spec.logging.outputs.forEach((o, j) => {
    const message = o.startsWith('/') ? logFileProblem(o) : undefined;
    if (message) out.push({ path: ['logging', 'outputs', j], message });
  });
  return [...out, ...pathLayoutIssues(spec)];
}
