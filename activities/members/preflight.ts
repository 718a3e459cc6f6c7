// Host checks before anything is written: every member's ports must be free,
// unless the member's own etcd already holds them (a retried provisioning).
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import { memberPorts } from '../../common/spec';

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function checkMemberPorts(spec: ClusterSpec, isRunning: (member: string) => Promise<boolean>): Promise<{ checked: number }> {
  const busy: string[] = [];
  let checked = 0;
  for (const m of spec.members) {
    if (await isRunning(m.name)) continue;
    const host = m.listenAddress ?? m.address;
    for (const [kind, port] of Object.entries(memberPorts(spec, m))) {
      checked++;
      if (!(await portFree(host, port))) busy.push(`${m.name} ${kind} ${host}:${port}`);
    }
  }
  if (busy.length) {
    throw ApplicationFailure.nonRetryable(`ports already in use by another process: ${busy.join(', ')}`, 'PortInUse');
  }
  return { checked };
}
