// Publishes the cluster entity's live state as the workflow's current details
// (Temporal UI, "Current Details"; rendered by common/details.ts). Metadata
// only, no command in history: only a changed text is set.
import { getCurrentDetails, setCurrentDetails } from '@temporalio/workflow';
import { renderClusterDetails, type DetailsInput } from '../common/details';

export function publishClusterDetails(state: DetailsInput): void {
  const md = renderClusterDetails(state);
  if (md !== getCurrentDetails()) setCurrentDetails(md);
}
