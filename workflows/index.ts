// Every workflow the worker registers.
export { clusterWorkflow } from './cluster';
export { provisionCluster } from './provision';
export { deleteCluster } from './delete';
