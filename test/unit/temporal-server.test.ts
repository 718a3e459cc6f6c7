// The dev server start: an early exit is retried on fresh ports when the
// caller let us pick them, and the error shows the server's own last lines
// (CI once failed with only "exited with 1" to go on).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../infra/temporal-server';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-devserver-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A stand-in CLI that records its --port and exits 1 the way a port clash does. */
function failingCli(): { bin: string; calls: () => string[] } {
  const bin = path.join(dir, 'temporal');
  const calls = path.join(dir, 'calls');
  fs.writeFileSync(
    bin,
    `#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --port ] && echo "$2" >> ${calls}; shift; done
echo "Error: failed starting server: listen tcp 127.0.0.1:7243: bind: address already in use"
exit 1
`,
    { mode: 0o755 },
  );
  return { bin, calls: () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : []) };
}

it('retries an early exit on other free ports and reports the log tail', async () => {
  const cli = failingCli();
  const logFile = path.join(dir, 'temporal.log');
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    await expect(startDevServer({ bin: cli.bin, port: 0, headless: true, logFile })).rejects.toThrow(
      /exited with 1[\s\S]*address already in use/,
    );
  } finally {
    warn.mockRestore();
  }
  const ports = cli.calls();
  expect(ports).toHaveLength(3);
  for (const p of ports) expect(Number(p)).toBeGreaterThan(0);
});

it('does not retry a port the caller chose', async () => {
  const cli = failingCli();
  await expect(startDevServer({ bin: cli.bin, port: 17233, headless: true, logFile: path.join(dir, 'temporal.log') })).rejects.toThrow(
    /address already in use/,
  );
  expect(cli.calls()).toEqual(['17233']);
});
