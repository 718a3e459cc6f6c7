// Response links of /openapi.json: how a client (or a stateful fuzzer) gets
// from what it created to the routes that use it. A created cluster's name
// (from the answer) reaches every route under /v1/clusters/{name}; its first
// member's name (from the request) the {member} routes; an operation's id
// every /v1/operations/{id} route; a user or role put by name the other routes
// of that user or role. What exists already is reachable too: the cluster list
// links to the first cluster's routes, a cluster to its first member's and its
// latest operation's.
type Operation = { operationId: string; responses: Record<string, any> };
type Paths = Record<string, Record<string, any>>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** `getClustersByNameMembers`-style ids from method and path, unique per route. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((s) => s && s !== 'v1')
    .map((s) => (s.startsWith('{') ? `by-${s.slice(1, -1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

function operations(paths: Paths): { path: string; method: string; op: Operation; params: string[] }[] {
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ path, method, op: op as Operation, params: [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]) })),
  );
}

/** Links to every operation whose path parameters are all given by `sources` (a runtime expression or a constant each). */
function linksTo(paths: Paths, sources: Record<string, string>, under: string, self: Operation): Record<string, object> {
  const out: Record<string, object> = {};
  for (const { path, op, params } of operations(paths)) {
    if (op === self || !path.startsWith(under) || params.length === 0 || !params.every((p) => p in sources)) continue;
    out[op.operationId] = { operationId: op.operationId, parameters: Object.fromEntries(params.map((p) => [p, sources[p]])) };
  }
  return out;
}

const SCHEDULE_CONSTANTS = { kind: 'backup', action: 'trigger' };

/** Adds `links` to the success responses that name something the other routes take. */
export function addLinks(paths: Paths): Paths {
  for (const { path, method, op } of operations(paths)) {
    const add = (status: string, links: Record<string, object>) => {
      const r = op.responses[status];
      // A copy: the response objects are shared between operations.
      if (r && Object.keys(links).length) op.responses[status] = { ...r, links: { ...(r.links ?? {}), ...links } };
    };
    const schemaOf = (status: string) => op.responses[status]?.content?.['application/json']?.schema?.$ref;
    const isAccepted = (status: string) => schemaOf(status) === '#/components/schemas/Accepted';
    for (const status of Object.keys(op.responses)) {
      // Every queued operation: its id reaches the operation's own routes.
      if (isAccepted(status)) add(status, linksTo(paths, { id: '$response.body#/operationId' }, '/v1/operations/', op));
      // A queued plan: its first operation.
      if (status === '202' && schemaOf(status) === '#/components/schemas/Plan')
        add(status, linksTo(paths, { id: '$response.body#/operations/0' }, '/v1/operations/', op));
    }
    if (method === 'post' && (path === '/v1/clusters' || path === '/v1/imports/taskserv')) {
      const sources: Record<string, string> = { name: '$response.body#/name', ...SCHEDULE_CONSTANTS };
      if (path === '/v1/clusters') sources.member = '$request.body#/members/0/name';
      add('202', linksTo(paths, sources, '/v1/clusters/{name}', op));
    }
    if (method === 'post' && path === '/v1/clusters/{name}/members') {
      add('202', linksTo(paths, { name: '$response.body#/name', member: '$response.body#/member' }, '/v1/clusters/{name}/members/', op));
    }
    // What already exists: the first listed cluster reaches its routes; a cluster's first
    // member and its latest operation reach theirs.
    if (method === 'get' && path === '/v1/clusters')
      add('200', linksTo(paths, { name: '$response.body#/clusters/0/name', ...SCHEDULE_CONSTANTS }, '/v1/clusters/{name}', op));
    if (method === 'get' && path === '/v1/clusters/{name}') {
      add(
        '200',
        linksTo(paths, { name: '$request.path.name', member: '$response.body#/members/0/name' }, '/v1/clusters/{name}/members/', op),
      );
      add('200', linksTo(paths, { id: '$response.body#/operations/0/id' }, '/v1/operations/', op));
    }
    const named = /^\/v1\/clusters\/\{name\}\/(users|roles)\/\{(user|role)\}$/.exec(path);
    if (method === 'put' && named) {
      const sources = { name: '$request.path.name', [named[2]]: `$request.path.${named[2]}` };
      add('202', linksTo(paths, sources, `/v1/clusters/{name}/${named[1]}/`, op));
    }
  }
  return paths;
}
