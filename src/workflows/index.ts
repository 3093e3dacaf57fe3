// Workflow entry point for the worker bundle.
export { harvestSync, syncProgressQuery, resourceWorkflowId } from './harvest-sync';
export { syncResource, resourceProgressQuery } from './sync-resource';
