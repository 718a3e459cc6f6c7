// What the API asks of Temporal. The API never touches hosts: every answer
// comes from the cluster entity workflows and their operation children.
import { identityClient } from './identity';
import { Client, WithStartWorkflowOperation, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { ClusterSpec } from '../common/spec';
import { specFingerprint } from '../common/fingerprint';
import {
  CLUSTER_WORKFLOW_PREFIX,
  clusterWorkflowId,
  parseOperationId,
  type OperationKind,
  type OperationRecord,
} from '../common/operations';
import { EtcdCluster } from '../common/searchAttributes';
import { clusterTopology, memberCommonName, memberSans } from '../common/topology';
import { clusterWorkflow } from '../workflows/cluster';
import { addressRegistryId, addressRegistryWorkflow, claimAddressesUpdate, releaseAddressesSignal } from '../workflows/addresses';
import { clusterPairs, operationPairs } from '../common/addresses';
import {
  clusterQuery,
  controlOperationUpdate,
  createClusterUpdate,
  submitOperationUpdate,
  type ControlOperationRequest,
  deleteClusterUpdate,
  planRestoreUpdate,
  type PlanRestoreRequest,
  progressQuery,
  signClientCertificateUpdate,
  type ClusterView,
  type OperationAccepted,
  type OperationProgress,
} from '../workflows/definitions';
import { createClientCsr } from '../activities/pki/csr';
import { HttpProblem } from './problems';
import { checkSpecPolicy, POLICY_STATUS, type SpecPolicy } from '../common/policy';
import { ValidationError } from '../common/parse';
import { schedulesFor, type MaintenanceSchedules } from './schedules';
import { redactOp, redactView } from './routes/auth-view';
import { ViewCache } from './view-cache';

/** Operations that can bring new address:port pairs into a cluster. */
const ADDRESS_KINDS = new Set<OperationKind>(['add-member', 'replace-member', 'scale']);

/** How long a query waits for the entity's worker; queries are answered by a worker, and none may be polling. */
const QUERY_DEADLINE_MS = 5_000;

/** How long a request waits for the worker to accept an update before answering 503. */
const UPDATE_DEADLINE_MS = 30_000;
/** How old a cluster's view in a list (or a /metrics scrape) may be. */
const LIST_VIEW_MAX_AGE_MS = 1_000;
/** The one key of the listing cache. */
const LISTING = 'clusters';

export class FleetService {
  readonly schedules: MaintenanceSchedules;
  /** What the list endpoint and /metrics read (api/view-cache.ts). */
  private readonly listedViews = new ViewCache<ClusterView>(LIST_VIEW_MAX_AGE_MS);
  /** The names the list endpoint and /metrics fan out over: one visibility listing per `LIST_VIEW_MAX_AGE_MS`. */
  private readonly listing = new ViewCache<string[]>(LIST_VIEW_MAX_AGE_MS);

  constructor(
    private readonly baseClient: Client,
    readonly taskQueue: string,
    readonly policy: SpecPolicy,
  ) {
    this.schedules = schedulesFor(baseClient, taskQueue);
  }

  /** The Temporal client, with the calling token's name as its identity (api/identity.ts). */
  get client(): Client {
    return identityClient(this.baseClient);
  }

  async createCluster(given: ClusterSpec): Promise<OperationAccepted & { warnings: string[] }> {
    // Users and roles (and their passwords) never go into the stored spec: POST /v1/clusters queues them as operations.
    const { auth: _auth, ...spec } = given;
    // Routes check with field paths before this; here nothing reaches Temporal unchecked.
    const refusals = checkSpecPolicy(spec, this.policy);
    if (refusals.length) throw new ValidationError(refusals, POLICY_STATUS);
    // Cluster workflow ids are per Temporal namespace, not per service: a name another etcdfleet service (another
    // task queue) runs a cluster under would send this request to that service's workers (or to none).
    const foreign = await this.foreignQueue(spec.name);
    if (foreign) {
      throw new HttpProblem(409, 'Conflict', `the name ${spec.name} is taken: ${foreignClusterNote(spec.name, foreign)}`, [
        { path: 'name', message: `taken by a cluster on task queue ${foreign}` },
      ]);
    }
    // Address:port pairs first: a pair another cluster holds is a 409 and no entity is started.
    const accepted = await this.withAddresses(spec.name, clusterPairs(spec), () => this.startCluster(spec));
    this.listedViews.drop(spec.name);
    // A cluster created here is in the next list at once (visibility is no older than the create).
    if (accepted.created) this.listing.drop(LISTING);
    // One Temporal Schedule per maintenance kind the spec asks for (backups, compaction, …);
    // a repeated POST leaves schedules changed since through PUT alone. The cluster
    // is queued either way: a schedule that could not be made is a warning, fixable with PUT.
    const warnings: string[] = [];
    if (accepted.created) {
      await this.schedules.syncFromSpec(spec).catch((err: Error) => {
        warnings.push(`schedules were not created (${err.message}); set them with PUT /v1/clusters/${spec.name}/schedules`);
      });
    }
    return { ...accepted, warnings };
  }

  /**
   * Claims `pairs` for the cluster in the address registry, runs `fn`, and
   * releases what this claim added when `fn` fails (the request changed nothing).
   */
  private async withAddresses<T>(cluster: string, pairs: string[], fn: () => Promise<T>): Promise<T> {
    if (pairs.length === 0) return fn();
    const registry = new WithStartWorkflowOperation(addressRegistryWorkflow, {
      workflowId: addressRegistryId(this.taskQueue),
      taskQueue: this.taskQueue,
      args: [{}],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: 'etcdfleet address:port registry',
    });
    const { added } = await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      this.client.workflow.executeUpdateWithStart(claimAddressesUpdate, { args: [{ cluster, pairs }], startWorkflowOperation: registry }),
    );
    try {
      return await fn();
    } catch (err) {
      if (added.length) {
        await this.client.workflow
          .getHandle(addressRegistryId(this.taskQueue))
          .signal(releaseAddressesSignal, { cluster, pairs: added })
          .catch(() => undefined);
      }
      throw err;
    }
  }

  private async startCluster(spec: ClusterSpec): Promise<OperationAccepted> {
    const start = new WithStartWorkflowOperation(clusterWorkflow, {
      workflowId: clusterWorkflowId(spec.name),
      taskQueue: this.taskQueue,
      args: [{ name: spec.name }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `etcd cluster ${spec.name}`,
      // Static (fixed at start): what it was created with. The live state (members, version, phase) is the
      // workflow's current details, kept current by the entity (workflows/details.ts).
      staticDetails: `created with ${spec.members.length} members, etcd ${spec.version}, provider ${spec.provider}; live state: Current Details`,
      typedSearchAttributes: [{ key: EtcdCluster, value: spec.name }],
    });
    return this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      this.client.workflow.executeUpdateWithStart(createClusterUpdate, {
        args: [{ spec, fingerprint: specFingerprint(spec) }],
        startWorkflowOperation: start,
      }),
    );
  }

  async deleteCluster(name: string, purge: boolean): Promise<OperationAccepted> {
    await this.runningHandle(name);
    const accepted = await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      this.client.workflow.getHandle(clusterWorkflowId(name)).executeUpdate(deleteClusterUpdate, { args: [{ purge }] }),
    );
    this.listedViews.drop(name);
    await this.schedules.removeAll(name);
    return accepted;
  }

  /** Queues an operation on the cluster; its handler's validator answers 4xx without queueing. */
  async submit(name: string, kind: OperationKind, params: Record<string, unknown> = {}): Promise<OperationAccepted> {
    const handle = await this.runningHandle(name);
    const queue = async () => {
      const accepted = await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        handle.executeUpdate(submitOperationUpdate, { args: [{ kind, params }] }),
      );
      this.listedViews.drop(name);
      return accepted;
    };
    if (!ADDRESS_KINDS.has(kind)) return queue();
    // New members' address:port pairs are claimed before the operation is queued (409 when taken).
    const spec = (await handle.query(clusterQuery)).spec;
    return spec ? this.withAddresses(name, operationPairs(spec, kind, params), queue) : queue();
  }

  /** Plans a point-in-time restore from `name`'s backups without queueing anything (422 naming a hole). */
  async planRestore(name: string, req: PlanRestoreRequest) {
    const handle = await this.runningHandle(name);
    return this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () => handle.executeUpdate(planRestoreUpdate, { args: [req] }));
  }

  async control(id: string, action: ControlOperationRequest['action']): Promise<OperationRecord> {
    const parsed = parseOperationId(id);
    if (!parsed) throw new HttpProblem(404, 'Not Found', `no operation ${id}`);
    const handle = await this.runningHandle(parsed.cluster);
    const op = await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(controlOperationUpdate, { args: [{ operationId: id, action }] }),
    );
    this.listedViews.drop(parsed.cluster);
    return redactOp(op);
  }

  /**
   * Every running cluster of this service (its task queue). A cluster whose
   * workflow does not answer in time (no worker polling) is listed as
   * `Unknown` with the reason, so one stuck cluster never holds up the list.
   */
  async listClusters(): Promise<ClusterView[]> {
    const names = await this.listing.get(LISTING, () => this.listClusterNames());
    this.listedViews.retain(new Set(names));
    const views = await Promise.all(
      names.map((name) =>
        // Listed just now as running on this task queue: no describe before the query.
        this.listedViews
          .get(name, () => this.queryView(name))
          .catch((err: Error): ClusterView | undefined =>
            err instanceof WorkflowNotFoundError
              ? undefined // deleted and gone since it was listed
              : ({
                  name,
                  phase: 'Unknown',
                  reason: `the cluster's workflow did not answer (${err.message}); is a worker polling task queue ${this.taskQueue}?`,
                } as ClusterView),
          ),
      ),
    );
    // A cluster deleted since it was listed answers from its closed workflow.
    return views.filter((v): v is ClusterView => v !== undefined && v.phase !== 'Deleted');
  }

  /** The running cluster workflows on this service's task queue (Temporal's visibility store). */
  private async listClusterNames(): Promise<string[]> {
    const names: string[] = [];
    const query = `WorkflowType = 'clusterWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${this.taskQueue.replaceAll("'", "''")}'`;
    for await (const wf of this.client.workflow.list({ query })) {
      names.push(wf.workflowId.slice(CLUSTER_WORKFLOW_PREFIX.length));
    }
    return names.sort();
  }

  /** The entity's view; 404 for unknown or deleted clusters. Bounded: a cluster without a worker answers nothing. */
  async view(name: string): Promise<ClusterView> {
    await this.runningHandle(name);
    return this.queryView(name);
  }

  private async queryView(name: string): Promise<ClusterView> {
    const handle = this.client.workflow.getHandle(clusterWorkflowId(name));
    return redactView(await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(clusterQuery)));
  }

  /**
   * A fresh admin client certificate: the key pair is made here and only its
   * CSR goes through Temporal, to be signed by the CA on the worker side. The
   * private key exists in this response and nowhere else.
   */
  async credentials(name: string): Promise<{ ca: string; cert: string; key: string }> {
    return this.signClient(await this.runningHandle(name));
  }

  /** The same against the workflow that holds the CA to sign with (the entity, or a CA rotation for the new CA). */
  async signClient(
    handle: { executeUpdate: WorkflowHandle['executeUpdate'] },
    commonName?: string,
  ): Promise<{ ca: string; cert: string; key: string }> {
    const { csr, key } = await createClientCsr(commonName);
    const signed = await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(signClientCertificateUpdate, { args: [commonName === undefined ? { csr } : { csr, commonName }] }),
    );
    return { ca: signed.ca, cert: signed.cert, key };
  }

  async progress(op: OperationRecord): Promise<OperationProgress | undefined> {
    if (op.status === 'Queued') return undefined;
    try {
      return await this.client.workflow.getHandle(op.workflowId).query(progressQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** A query on an operation's child workflow (e.g. a CA rotation's trust bundle). */
  /** A query only operations of `kind` answer: 404 for another kind, 409 before it started. */
  async queryOperation<T>(id: string, kind: OperationKind, query: QueryDefinition<T>): Promise<T> {
    const op = await this.operation(id);
    if (op.kind !== kind) throw new HttpProblem(404, 'Not Found', `operation ${id} is a ${op.kind} operation, not ${kind}`);
    if (op.status === 'Queued') throw new HttpProblem(409, 'Conflict', `operation ${id} has not started yet`);
    return this.client.workflow.getHandle(op.workflowId).query(query);
  }

  async operation(id: string): Promise<OperationRecord & { steps?: OperationProgress['steps'] }> {
    const parsed = parseOperationId(id);
    if (!parsed) throw new HttpProblem(404, 'Not Found', `no operation ${id}`);
    const view = await this.view(parsed.cluster);
    const op = [view.current, ...view.queue, ...view.operations].find((o) => o?.id === id);
    if (!op) throw new HttpProblem(404, 'Not Found', `no operation ${id}`);
    const progress = await this.progress(op);
    return { ...op, steps: progress?.steps };
  }

  /** The cluster entity's handle; 404 for unknown or deleted clusters. */
  clusterHandle(name: string) {
    return this.runningHandle(name);
  }

  private async runningHandle(name: string) {
    const handle = this.client.workflow.getHandle(clusterWorkflowId(name));
    try {
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') throw new HttpProblem(404, 'Not Found', `cluster ${name} was deleted`);
      if (d.taskQueue !== this.taskQueue)
        throw new HttpProblem(404, 'Not Found', `no cluster named ${name} here: ${foreignClusterNote(name, d.taskQueue)}`);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpProblem(404, 'Not Found', `no cluster named ${name}`);
      throw err;
    }
    return handle;
  }

  /** The task queue of another service's running cluster of this name, if there is one. */
  private async foreignQueue(name: string): Promise<string | undefined> {
    try {
      const d = await this.client.workflow.getHandle(clusterWorkflowId(name)).describe();
      return d.status.name === 'RUNNING' && d.taskQueue !== this.taskQueue ? d.taskQueue : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }
}

function foreignClusterNote(name: string, taskQueue: string): string {
  return `a cluster named ${name} is run by the etcdfleet service on task queue ${taskQueue} in the same Temporal namespace (cluster names are unique per namespace)`;
}

/** The cluster as the API shows it: spec, observed members, files, current operation. */
export function renderCluster(view: ClusterView, currentSteps?: OperationProgress['steps']) {
  const health = new Map((view.health?.members ?? []).map((m) => [m.name, m]));
  const spec = view.spec;
  const members = spec
    ? clusterTopology(spec).map((t, i) => {
        const h = health.get(t.name);
        const m = spec.members[i];
        const sans = memberSans(spec, m);
        return {
          name: t.name,
          hostname: m.hostname,
          // What the member's server and peer certificates name (tls.enabled: false clusters have none).
          certificate: spec.tls.enabled
            ? { commonName: memberCommonName(m), sans: [...sans.dns.map((d) => `DNS:${d}`), ...sans.ips.map((ip) => `IP:${ip}`)] }
            : undefined,
          clientURL: t.clientURL,
          peerURL: t.peerURL,
          metricsURL: t.metricsURL,
          healthy: h?.healthy ?? false,
          isLeader: h?.isLeader ?? false,
          isLearner: h?.isLearner ?? false,
          version: h?.version,
          error: h?.error,
          files: view.files?.[t.name],
        };
      })
    : [];
  return {
    name: view.name,
    phase: view.phase,
    reason: view.reason,
    version: view.version,
    members,
    health: view.health && {
      healthy: view.health.healthy,
      leader: view.health.leader,
      alarms: view.health.alarms,
      checkedAt: view.health.checkedAt,
      // notAfter of each member's CA, server, peer and admin certificates (what `describe` and dashboards show).
      certificates: view.health.certificates,
    },
    currentOperation: view.current && { ...view.current, steps: currentSteps },
    queuedOperations: view.queue,
    operations: view.operations,
    spec: view.spec,
    ...view.extensions,
  };
}
