// A tiny client for the etcdfleet API as tests and benchmarks call it: bearer
// token, objects sent as JSON and strings as YAML, JSON answers parsed.
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export type ApiCall = <T = any>(method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;

export function apiClient(base: string, token: string): ApiCall {
  return async (method, url, body, headers = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= typeof body === 'string' ? 'application/yaml' : 'application/json';
    }
    // A GET is safe to send again: a kept-alive connection the server closed just as it was reused is a reset, not an answer.
    const send = () => fetch(base + url, { method, headers: h, body: payload });
    const res = await send().catch((err) => (method === 'GET' ? send() : Promise.reject(err)));
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
}

/** Polls GET /v1/clusters/{name} until its phase is one of `phases`; the last view on timeout. */
export async function waitForPhase(api: ApiCall, name: string, phases: string[], timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const r = await api('GET', `/v1/clusters/${name}`);
    last = r.body;
    if (r.status === 200 && phases.includes(r.body.phase)) return r.body;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`cluster ${name} did not reach ${phases.join('/')} in ${timeoutMs} ms; last: ${JSON.stringify(last, null, 2)}`);
}
