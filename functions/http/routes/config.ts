import {
  diff,
  itemResponse,
  predecessorDiffResponse,
  itemsBatchResponse,
  itemsListResponse,
  snapshot,
  snapshotDiffResponse,
  snapshotsListResponse,
} from '../responses/config.ts';
import { environmentResponse } from '../responses/environments.ts';
import { evidence } from '../responses/promotions.ts';
import { v1, type Route, type RouteResponse } from './row.ts';

/** The CRUD routes of configs and of flags: one set each, the kind in the route's context. */
const itemRoutes = (kind: 'config' | 'flag'): Route[] => {
  const base = `${v1}/environments/{env}/${kind}s`;
  const ctx = { kind };
  const item: RouteResponse = { schema: itemResponse };
  return [
    {
      method: 'GET',
      path: base,
      handler: 'items-list',
      auth: 'jwt',
      role: 'viewer',
      summary: `List ${kind}s of an environment`,
      context: ctx,
      response: { schema: itemsListResponse },
    },
    {
      method: 'POST',
      path: base,
      handler: 'items-create',
      auth: 'jwt',
      role: 'deployer',
      env: { path: 'env' },
      summary: `Create a ${kind}`,
      context: ctx,
      response: item,
    },
    { method: 'GET', path: `${base}/{id}`, handler: 'items-get', auth: 'jwt', role: 'viewer', summary: `Get a ${kind}`, context: ctx, response: item },
    {
      method: 'PUT',
      path: `${base}/{id}`,
      handler: 'items-update',
      auth: 'jwt',
      role: 'deployer',
      env: { path: 'env' },
      summary: `Change a ${kind}`,
      context: ctx,
      response: item,
    },
    {
      method: 'DELETE',
      path: `${base}/{id}`,
      handler: 'items-delete',
      auth: 'jwt',
      role: 'deployer',
      env: { path: 'env' },
      summary: `Delete a ${kind}`,
      context: ctx,
    },
  ];
};

/** One batch writes at most MAX_BATCH_ITEMS (1,000) items; API Gateway gives up at 29 s. */
const BATCH: Pick<Route, 'response' | 'timeout' | 'heavy'> = { response: { schema: itemsBatchResponse }, timeout: 29, heavy: true };

/** Configs and flags of an environment, its snapshots (every change makes one) and the diffs between them. */
export const CONFIG_ROUTES: Route[] = [
  ...itemRoutes('config'),
  ...itemRoutes('flag'),
  {
    method: 'POST',
    path: `${v1}/environments/{env}/items/batch`,
    handler: 'items-batch',
    auth: 'jwt',
    role: 'deployer',
    env: { path: 'env' },
    summary: 'Set and delete many configs/flags as one snapshot',
    ...BATCH,
  },
  {
    method: 'POST',
    path: `${v1}/machine/environments/{env}/items/batch`,
    handler: 'items-batch',
    auth: 'iam',
    role: 'deployer',
    env: { path: 'env' },
    summary: 'Same, for pipelines signing with IAM (SigV4)',
    ...BATCH,
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/snapshots`,
    handler: 'snapshots-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Snapshot history, newest first',
    response: { schema: snapshotsListResponse },
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/snapshots/{seq}`,
    handler: 'snapshots-get',
    auth: 'jwt',
    role: 'viewer',
    summary: 'One snapshot',
    response: { schema: snapshot },
  },
  {
    method: 'POST',
    path: `${v1}/environments/{env}/snapshots/{seq}/evidence`,
    handler: 'snapshots-evidence',
    auth: 'jwt',
    role: 'deployer',
    env: { path: 'env' },
    summary: 'Attach evidence to a config release (a snapshot)',
    response: { schema: evidence },
  },
  {
    method: 'POST',
    path: `${v1}/environments/{env}/snapshots/{seq}/restore`,
    handler: 'snapshots-restore',
    auth: 'jwt',
    role: 'admin',
    env: { path: 'env' },
    summary: 'Point the environment back at a snapshot',
    response: { schema: environmentResponse },
  },
  {
    method: 'GET',
    path: `${v1}/config/promotions/diff`,
    handler: 'diff-environments',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Diff two environments (source → target, key by key)',
    response: { schema: diff },
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/diff`,
    handler: 'diff-predecessors',
    auth: 'jwt',
    role: 'viewer',
    summary:
      'Diff an environment against the environments it comes after (its after, or the one before it): one diff per predecessor, or the one named by against (422 if it is none of them)',
    response: { schema: predecessorDiffResponse },
  },
  {
    method: 'GET',
    path: `${v1}/snapshots/diff`,
    handler: 'diff-snapshots',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Diff two snapshots',
    response: { schema: snapshotDiffResponse },
  },
];
