// One zod schema per operation kind: the parameters a submission carries.
// The API route parses a request with it (400 with field paths), the entity's
// Update validator parses the submitted params again (422, nothing queued),
// and the handler's `run` gets the parsed, typed params (z.infer) for the
// child workflow. Pure: the workflow bundle imports it.
import { z } from 'zod';
import { MAX_TIMEOUT_SECONDS, secondsSchema } from './duration';
import { zodIssues, type Issue } from './issues';
import { whenever } from './salvage';
import type { OperationKind } from './operations';
import { BackupSpec, LoggingSpec, MemberSpec, Tunables } from './spec';
import { AuthName, RoleSpec, UserSpec } from './auth';

/** A schedule marks what it submits (shown in the child's summary). */
const scheduled = z.boolean().optional();
const required = (message: string) => z.string({ error: message }).min(1, message);
const memberName = required('required: the member name');
/** The learner's promote deadline becomes an activity timeout: bounded, or the child would get an invalid timer. */
const promoteTimeoutSeconds = secondsSchema().optional();

/** etcd refuses an election timeout under 5 heartbeats (the defaults: 1000 and 100 ms). */
const RolloutTunables = Tunables.superRefine(
  ...whenever<{ heartbeatInterval?: number; electionTimeout?: number }>((t, blamed) => {
    const hb = t?.heartbeatInterval ?? 100;
    if (!t || blamed(['heartbeatInterval']) || blamed(['electionTimeout']) || (t.electionTimeout ?? 1000) >= 5 * hb) return [];
    return [{ path: ['electionTimeout'], message: `must be at least 5 × heartbeatInterval (${5 * hb} ms)` }];
  }),
);

type BackupSettings = z.output<typeof BackupSpec>;

export const OPERATION_PARAMS = {
  provision: z.object({}),
  delete: z.object({ purge: z.boolean().default(false) }),
  /** The member itself, plus an optional promote deadline. */
  'add-member': MemberSpec.extend({ promoteTimeoutSeconds }),
  'remove-member': z.object({ member: memberName }),
  'replace-member': z.strictObject({ member: memberName, address: MemberSpec.shape.address.optional(), promoteTimeoutSeconds }),
  /** The desired member list; checked against the spec (names, addresses, quorum) by the handler. */
  scale: z.object({ members: z.array(z.unknown(), { error: 'required: the desired member list' }) }),
  upgrade: z.object({
    version: z
      .string({ error: 'required: the etcd release to upgrade to, e.g. v3.5.35' })
      .trim()
      .min(1, 'required: the etcd release to upgrade to, e.g. v3.5.35'),
  }),
  /** The whole tunables and logging blocks the members get (the API merges a request onto the spec's). */
  'config-change': z
    .object({ tunables: RolloutTunables.optional(), logging: LoggingSpec.optional() })
    .refine((p) => p.tunables !== undefined || p.logging !== undefined, 'nothing to change: give tunables and/or logging'),
  'rotate-certificates': z.object({}),
  /** Seconds between the CA rotation's phases, for clients to pick up the new trust bundle. */
  'rotate-ca': z.object({ phaseGraceSeconds: secondsSchema(MAX_TIMEOUT_SECONDS, { allowZero: true }).optional() }),
  backup: z.object({ member: z.string({ error: 'a member name' }).min(1, 'a member name').optional(), scheduled }),
  restore: z
    .object({
      backup: required('the id of a backup (or "latest") is required'),
      from: z.string({ error: 'the name of the cluster that took the backup' }).optional(),
      /** In place on a healthy cluster. */
      force: z.boolean().optional(),
      /** Point in time (continuous backups): replay recorded changes up to this revision … */
      toRevision: z.number({ error: 'a positive revision' }).int().min(1, 'a positive revision').optional(),
      /** … or up to this time (RFC 3339 with a zone). */
      toTime: z.iso.datetime({ offset: true, error: 'an RFC 3339 time, e.g. 2026-01-02T03:04:05Z' }).optional(),
      /** Set by the API (never by a client): the source cluster's backup settings when restoring from another cluster. */
      sourceBackup: z.custom<BackupSettings>((v) => v === undefined || (typeof v === 'object' && v !== null)).optional(),
    })
    .refine((p) => p.toRevision === undefined || p.toTime === undefined, {
      message: 'give toRevision or toTime, not both',
      path: ['toTime'],
    }),
  'restore-drill': z.object({ backup: z.string().min(1).optional(), scheduled }),
  compact: z.object({ revision: z.number({ error: 'a positive revision' }).int().min(1, 'a positive revision').optional(), scheduled }),
  defrag: z.object({ all: z.boolean().optional(), scheduled }),
  'defrag-check': z.object({ scheduled }),
  'clear-nospace': z.object({}),
  /** etcd roles and users (common/auth.ts); `password` only in these (encrypted) params, never in the recorded state. */
  'put-role': RoleSpec,
  'delete-role': z.strictObject({ name: AuthName }),
  'put-user': UserSpec,
  'delete-user': z.strictObject({ name: AuthName }),
  'set-auth': z.strictObject({ enabled: z.boolean({ error: 'required: true or false' }) }),
  /** Queued by the entity (with the reason and the spec's `auto`) or by an admin; `auto` skips the approval. */
  'recover-quorum': z.object({ reason: z.string().max(2000).optional(), auto: z.boolean().optional() }),
} satisfies Record<OperationKind, z.ZodType>;

export type OperationParams<K extends OperationKind> = z.output<(typeof OPERATION_PARAMS)[K]>;

export type ParsedParams<K extends OperationKind> = { ok: true; params: OperationParams<K> } | { ok: false; issues: Issue[] };

/** Parses a kind's params; issues carry field paths (`tunables.electionTimeout`). */
export function parseOperationParams<K extends OperationKind>(kind: K, params: unknown): ParsedParams<K> {
  const schema: z.ZodType = OPERATION_PARAMS[kind];
  const r = schema.safeParse(params ?? {});
  // The schema of kind K parsed it: its output is OperationParams<K> (TypeScript cannot follow K through the index).
  return r.success ? { ok: true, params: r.data as OperationParams<K> } : { ok: false, issues: zodIssues(r.error) };
}
