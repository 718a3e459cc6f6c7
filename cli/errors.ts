// Exit statuses of the command line and the errors that carry them. A refusal
// is printed from the API's problem+json: the detail, then one line per field.

/** 0: done; 1: the operation failed or was cancelled; 2: bad usage; 3: the API refused or could not be reached. */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** An error the command line reports as it is (no stack) and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.refused,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A non-2xx answer of the API. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(renderProblem(status, problem), EXIT.refused);
    this.name = 'ApiError';
  }
}

/**
 * A problem as lines: `refused (422 Unprocessable Operation): <detail>` and,
 * when the API names fields, one `  <path>: <message>` line each (the detail
 * then only repeats them, so it is left out).
 */
export function renderProblem(status: number, p: Problem): string {
  const title = p.title ?? 'Error';
  const errors = (p.errors ?? []).filter((e) => e && typeof e.message === 'string');
  const head = `refused (${status} ${title})`;
  if (errors.length === 0) return `${head}: ${p.detail ?? 'no detail given'}`;
  const lines = errors.map((e) => `  ${e.path || '(body)'}: ${e.message}`);
  return [`${head}: ${errors.length === 1 ? '1 field' : `${errors.length} fields`}`, ...lines].join('\n');
}
