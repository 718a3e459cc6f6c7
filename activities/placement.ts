// Where a local-provider cluster lives: the machine of the worker that runs
// this activity. Its members listen on that machine's loopback and keep their
// files and processes there, so every later step of the cluster runs on
// workers polling the same machine queue (workflows/placement.ts).
import { machineQueue, type Config } from '../infra/config';

export function placementActivities(cfg: Config) {
  return {
    /** This worker's machine and its task queue. */
    async workerMachine(): Promise<{ machine: string; taskQueue: string }> {
      return { machine: cfg.machine, taskQueue: machineQueue(cfg) };
    },
  };
}
