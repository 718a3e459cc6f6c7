// rollout endpoints under /v1.
import express from 'express';
import type { FleetService } from '../service';

export function rolloutRoutes(_fleet: FleetService): express.Router {
  return express.Router();
}
