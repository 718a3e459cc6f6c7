// `apply -f FILE`: a native spec or taskserv ETCD configs. A new cluster is
// created (POST /v1/clusters or /v1/imports/taskserv); an existing one gets
// the desired spec as a PATCH, whose plan `--dry-run` prints without queueing.
import fs from 'node:fs';
import { parseBody, parseClusterSpec, ValidationError } from '../common/parse';
import { importTaskserv } from '../common/taskserv';
import { formatChange, type FieldChange } from '../common/plan-changes';
import type { Api } from './http';
import { ApiError, CliError, EXIT, renderProblem } from './errors';

export type SpecKind = 'native' | 'taskserv';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Which route a document is for, the way the taskserv import reads it: a list
 * or multi-document stream, a config with `etcd_name`, or one wrapped in an
 * `etcd`/`ETCD` key is taskserv; anything else is a native spec.
 */
export function detectKind(value: unknown): SpecKind {
  if (Array.isArray(value)) return 'taskserv';
  if (!isObject(value)) return 'native';
  if ('members' in value && !('etcd_name' in value)) return 'native';
  if ('etcd_name' in value || 'cluster_list' in value || 'initial_peers' in value || 'cli_ip' in value) return 'taskserv';
  return ['etcd', 'ETCD', 'Etcd'].some((k) => isObject(value[k]) || Array.isArray(value[k])) ? 'taskserv' : 'native';
}

export interface ApplyInput {
  text: string;
  contentType: string;
  kind: SpecKind;
  /** The native spec as this command reads it (taskserv configs converted); undefined when it does not validate here. */
  spec?: Record<string, unknown> & { name: string };
  /** What local validation found (the API answers with the same field paths). */
  invalid?: ValidationError;
  /** Taskserv: fields the provider cannot honour. */
  unsupported: { field: string; reason: string }[];
}

export function readApplyInput(
  file: string,
  provider: 'local' | 'ssh',
  read = (f: string) => fs.readFileSync(f === '-' ? 0 : f, 'utf8'),
): ApplyInput {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    throw new CliError(`-f ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  const contentType = /\.json$/i.test(file) ? 'application/json' : 'application/yaml';
  let value: unknown;
  try {
    value = parseBody(text, contentType);
  } catch (err) {
    if (err instanceof ValidationError)
      throw new CliError(`${file}: ${renderProblem(400, { title: 'Invalid Request', errors: err.issues })}`);
    throw err;
  }
  const kind = detectKind(value);
  try {
    if (kind === 'native') return { text, contentType, kind, spec: parseClusterSpec(value).spec as ApplyInput['spec'], unsupported: [] };
    const imported = importTaskserv(value, { provider });
    return { text, contentType, kind, spec: imported.spec as ApplyInput['spec'], unsupported: imported.unsupported };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { text, contentType, kind, invalid: err, unsupported: [] };
  }
}

export interface ApplyResult {
  lines: string[];
  /** Operations queued by this apply, in order (to follow with --wait). */
  operations: string[];
}

/** Creates or changes the cluster; with dryRun, only reports what would happen. */
export async function apply(api: Api, input: ApplyInput, opts: { dryRun: boolean; provider: 'local' | 'ssh' }): Promise<ApplyResult> {
  const name = input.spec?.name;
  const existing = name ? await api.get(`/v1/clusters/${encodeURIComponent(name)}`).catch(notFound) : undefined;
  if (existing && input.spec) return patch(api, input.spec, opts.dryRun);
  if (opts.dryRun) {
    // The API has no dry run for a new cluster: the local validation is what can be said (policy is checked on the server).
    if (input.invalid)
      throw new CliError(`would be refused: ${renderProblem(400, { title: 'Invalid Request', errors: input.invalid.issues })}`);
    const s = input.spec as any;
    const lines = [
      `cluster ${s.name} does not exist: apply would create it (${s.members.length} members, etcd ${s.version}, provider ${s.provider})`,
    ];
    for (const u of input.unsupported) lines.push(`  unsupported: ${u.field}: ${u.reason}`);
    return { lines, operations: [] };
  }
  const res =
    input.kind === 'native'
      ? await api.call('POST', '/v1/clusters', input.text, input.contentType)
      : await api.call('POST', `/v1/imports/taskserv?provider=${opts.provider}`, input.text, input.contentType);
  const lines = [`cluster ${res.name}: ${res.created ? 'created' : 'unchanged (same spec)'}, operation ${res.operationId}`];
  for (const w of res.warnings ?? []) lines.push(`  warning: ${w}`);
  for (const u of res.unsupported ?? []) lines.push(`  unsupported: ${u.field}: ${u.reason}`);
  return { lines, operations: res.operationId ? [res.operationId] : [] };
}

async function patch(api: Api, spec: { name: string }, dryRun: boolean): Promise<ApplyResult> {
  const url = `/v1/clusters/${encodeURIComponent(spec.name)}${dryRun ? '?dryRun=true' : ''}`;
  const res = await api.call('PATCH', url, spec);
  const plan: { kind: string; reason: string; changes?: FieldChange[] }[] = res.plan ?? [];
  const verb = dryRun ? 'would queue' : 'queued';
  const lines = [
    plan.length
      ? `cluster ${spec.name}: ${verb} ${plan.length} operation${plan.length === 1 ? '' : 's'}`
      : `cluster ${spec.name}: unchanged (nothing to do)`,
  ];
  plan.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step.kind}: ${step.reason}${res.operations?.[i] ? ` (${res.operations[i]})` : ''}`);
    for (const c of step.changes ?? []) lines.push(`       ${formatChange(c)}`);
  });
  for (const w of res.warnings ?? []) lines.push(`  warning: ${w}`);
  return { lines, operations: res.operations ?? [] };
}

function notFound(err: unknown): undefined {
  if (err instanceof ApiError && err.status === 404) return undefined;
  throw err;
}
