// GET /v1/operations/{id}/events: server-sent events of an operation's
// progress. Polls the operation (entity record + child progress query) and
// sends an event whenever it changes; ends when the operation has finished.
import type { Request, Response } from 'express';
import type { FleetService } from './service';

const POLL_MS = 1000;
const DONE = new Set(['Succeeded', 'Failed', 'Cancelled']);

export function operationEvents(fleet: FleetService) {
  return async (req: Request, res: Response) => {
    const id = String(req.params.id);
    let op = await fleet.operation(id); // 404 before the stream starts
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let closed = false;
    req.on('close', () => (closed = true));
    let last = '';
    for (let n = 0; !closed; n++) {
      const text = JSON.stringify(op);
      if (text !== last) {
        res.write(`id: ${n}\nevent: ${DONE.has(op.status) ? 'done' : 'progress'}\ndata: ${text}\n\n`);
        last = text;
      }
      if (DONE.has(op.status)) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (closed) break;
      try {
        op = await fleet.operation(id);
      } catch (err) {
        res.write(`event: error\ndata: ${JSON.stringify({ detail: (err as Error).message })}\n\n`);
        break;
      }
    }
    res.end();
  };
}
