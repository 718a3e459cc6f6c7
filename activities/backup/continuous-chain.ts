// Point-in-time restore planning, pure: which full backup to start from and
// which change chunks to replay after it to reach a revision or a time. The
// chunks must cover every revision from the backup's onwards without a hole;
// a hole (the recorder was down longer than the cluster kept its history) is
// refused with the missing range named, never papered over.
import type { ChangesHead, ChunkManifest } from './continuous-format';

export interface BaseBackup {
  id: string;
  revision: number;
  createdAt: string;
}

/** Where to restore to: a revision, a time (RFC 3339), or as far as the chain goes (the drill). */
export type RestorePoint = { revision: number } | { time: string } | { tip: true };

export interface PointInTimePlan {
  backup: string;
  baseRevision: number;
  /** Replay changes with baseRevision < revision ≤ untilRevision … */
  untilRevision: number;
  /** … and seen at or before this time (a time target only). */
  untilTime?: string;
  chunks: Pick<ChunkManifest, 'object' | 'fromRevision' | 'toRevision' | 'events' | 'sha256' | 'storedBytes' | 'encryption'>[];
  /** How far the recorded changes reach from this backup: revision and time. */
  recordedRevision: number;
  recordedUntil?: string;
  /** The first missing revision range after the chain, when there is one. */
  gap?: { from: number; to: number };
}

export class ChainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainError';
  }
}

const describePoint = (p: RestorePoint) =>
  'revision' in p ? `revision ${p.revision}` : 'time' in p ? `time ${p.time}` : 'the newest change';

function chooseBase(backups: BaseBackup[], id: string, point: RestorePoint): BaseBackup {
  const newest = [...backups].sort((a, b) => b.revision - a.revision || b.createdAt.localeCompare(a.createdAt));
  const fits = (b: BaseBackup) =>
    'revision' in point ? b.revision <= point.revision : 'time' in point ? Date.parse(b.createdAt) <= Date.parse(point.time) : true;
  if (id !== 'latest') {
    const b = newest.find((x) => x.id === id);
    if (!b) throw new ChainError(`no backup ${id}`);
    if (!fits(b)) throw new ChainError(`backup ${id} (revision ${b.revision}, taken ${b.createdAt}) is later than ${describePoint(point)}`);
    return b;
  }
  const b = newest.find(fits);
  if (b) return b;
  const oldest = newest[newest.length - 1];
  throw new ChainError(
    oldest
      ? `no backup at or before ${describePoint(point)}; the oldest is ${oldest.id} (revision ${oldest.revision}, taken ${oldest.createdAt})`
      : 'no verified backup to start from',
  );
}

export function planPointInTime(input: {
  backups: BaseBackup[];
  chunks: ChunkManifest[];
  head?: ChangesHead;
  backup: string;
  point: RestorePoint;
}): PointInTimePlan {
  const { point } = input;
  const base = chooseBase(input.backups, input.backup, point);
  const chunks = [...input.chunks].sort((a, b) => a.fromRevision - b.fromRevision || a.toRevision - b.toRevision);
  let need = base.revision + 1;
  let covered = -Infinity;
  const used: ChunkManifest[] = [];
  let gap: PointInTimePlan['gap'];
  const done = () => ('revision' in point ? need > point.revision : 'time' in point ? covered >= Date.parse(point.time) : false);
  for (const c of chunks) {
    if (c.toRevision < need) continue;
    if (done()) break;
    if (c.fromRevision > need) {
      gap = { from: need, to: c.fromRevision - 1 };
      break;
    }
    used.push(c);
    need = c.toRevision + 1;
    covered = Math.max(covered, Date.parse(c.coveredUntil));
  }
  const tip = need - 1;
  // The head speaks for the chain only when it ends where this chain ends.
  if (input.head && input.head.revision === tip) covered = Math.max(covered, Date.parse(input.head.coveredUntil));
  const recordedUntil = Number.isFinite(covered) ? new Date(covered).toISOString() : undefined;
  const plan: PointInTimePlan = {
    backup: base.id,
    baseRevision: base.revision,
    untilRevision: 'revision' in point ? point.revision : tip,
    untilTime: 'time' in point ? new Date(Date.parse(point.time)).toISOString() : undefined,
    chunks: used.map(({ object, fromRevision, toRevision, events, sha256, storedBytes, encryption }) => ({
      object,
      fromRevision,
      toRevision,
      events,
      sha256,
      storedBytes,
      encryption,
    })),
    recordedRevision: tip,
    recordedUntil,
    gap,
  };
  if ('tip' in point || done()) return plan;
  const reach = `changes after backup ${base.id} (revision ${base.revision}) are recorded up to revision ${tip}${recordedUntil ? ` (${recordedUntil})` : ''}`;
  if (gap)
    throw new ChainError(
      `cannot restore to ${describePoint(point)}: changes of revisions ${gap.from}–${gap.to} are missing (the recorder was not running, or that history was compacted before it was recorded); ${reach}`,
    );
  throw new ChainError(`cannot restore to ${describePoint(point)}: ${reach}`);
}
