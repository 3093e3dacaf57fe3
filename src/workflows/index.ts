// Workflow entry point for the worker bundle.
export { harvestSync, syncAccount, syncProgressQuery, resourceWorkflowId, accountWorkflowId } from './harvest-sync';
export { syncResource, resourceProgressQuery } from './sync-resource';
export { harvestPacer, acquireSlotsUpdate } from './pacer';
