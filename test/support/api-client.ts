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
    const res = await fetch(base + url, { method, headers: h, body: payload });
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
