// The API as the command line calls it: bearer token, JSON or YAML bodies,
// problem+json turned into ApiError, and the operation event stream (SSE).
import { ApiError, CliError, EXIT, type Problem } from './errors';
import type { Connection } from './connection';

export interface SseEvent {
  event: string;
  data: string;
}

export class Api {
  constructor(readonly conn: Connection) {}

  private async send(method: string, url: string, body?: string, contentType?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.conn.token}` };
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    try {
      return await fetch(this.conn.url + url, { method, headers, body });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach the API at ${this.conn.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        EXIT.refused,
      );
    }
  }

  /** Sends a request; 2xx answers parsed from JSON, anything else an ApiError. Objects go as JSON, strings as given. */
  async call<T = any>(method: string, url: string, body?: unknown, contentType?: string): Promise<T> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await this.send(method, url, text, typeof body === 'string' ? (contentType ?? 'application/yaml') : contentType);
    const raw = await res.text();
    let parsed: unknown = raw;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* not JSON: kept as text */
    }
    if (!res.ok) {
      const problem: Problem =
        typeof parsed === 'object' && parsed ? (parsed as Problem) : { title: res.statusText, detail: String(raw).slice(0, 500) };
      throw new ApiError(res.status, problem);
    }
    return parsed as T;
  }

  get<T = any>(url: string): Promise<T> {
    return this.call<T>('GET', url);
  }

  /** The server-sent events of a stream, parsed, until the server ends it. */
  async *events(url: string): AsyncGenerator<SseEvent> {
    const res = await this.send('GET', url);
    if (!res.ok || !res.body) {
      const raw = await res.text();
      let problem: Problem = { title: res.statusText, detail: raw };
      try {
        problem = JSON.parse(raw) as Problem;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, problem);
    }
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    let buffer = '';
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const parts = buffer.split(/\r?\n\r?\n/);
        buffer = parts.pop() ?? '';
        for (const block of parts) {
          const ev = parseSseBlock(block);
          if (ev) yield ev;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
}

/** One SSE event block (`event:` and `data:` lines); comments and blocks without data are skipped. */
export function parseSseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { event, data: data.join('\n') } : undefined;
}
