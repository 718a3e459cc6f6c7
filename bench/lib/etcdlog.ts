// What etcd itself spent, read from the members' zap logs: how far apart the
// members were started, how long a member sat in its bootstrap peer check,
// and when all of them were ready. This separates etcd's own variance from
// the tool's overhead on both sides of the benchmark.
//
// The bootstrap peer check: a new member of a new cluster asks every peer's
// /members (1 s timeout each, one after the other) before it starts raft. A
// peer that has opened its listener but is still in that same check accepts
// the TCP connection and never answers, so members started at the same
// instant can each wait up to 1 s per peer; staggered starts avoid it.
import fs from 'node:fs';

export interface EtcdStartup {
  members: number;
  /** Latest process start minus earliest. */
  startSkewMs: number;
  /** Longest "opened backend db" → "starting local member" (the bootstrap peer check). */
  peerCheckMs: number;
  /** Earliest process start → last member "ready to serve client requests". */
  readyMs: number;
  /** Wall clock (ms) of the earliest start and the last ready. */
  firstStart: number;
  lastReady: number;
}

const MARKS = {
  start: 'starting an etcd server',
  backend: 'opened backend db',
  local: 'starting local member',
  ready: 'ready to serve client requests',
} as const;

export function readEtcdStartup(logFiles: string[]): EtcdStartup | undefined {
  const per = logFiles.map((file) => {
    const at: Partial<Record<keyof typeof MARKS, number>> = {};
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return at;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      for (const [k, msg] of Object.entries(MARKS) as [keyof typeof MARKS, string][]) {
        if (at[k] !== undefined || !line.includes(`"msg":"${msg}"`)) continue;
        const ts = /"ts":"([^"]+)"/.exec(line)?.[1];
        if (ts) at[k] = Date.parse(ts);
      }
    }
    return at;
  });
  if (per.some((p) => p.start === undefined || p.ready === undefined)) return undefined;
  const starts = per.map((p) => p.start!);
  const readies = per.map((p) => p.ready!);
  const firstStart = Math.min(...starts);
  const lastReady = Math.max(...readies);
  return {
    members: per.length,
    startSkewMs: Math.max(...starts) - firstStart,
    peerCheckMs: Math.max(...per.map((p) => (p.local ?? NaN) - (p.backend ?? NaN)).filter(Number.isFinite)),
    readyMs: lastReady - firstStart,
    firstStart,
    lastReady,
  };
}
