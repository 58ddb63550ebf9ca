/**
 * The composition of the contexts' ports. Each context declares its store area, its write ops and its
 * outbound ports beside its model (domain/<context>/ports.ts) and adds them to what a use case is given
 * (domain/kernel/deps.ts: Store, WriteOps, Ports, Deps, Ctx); a use case imports those from the kernel,
 * never from here. This module only puts them together for the outside (the DynamoDB adapter, the
 * functions' wiring, the local stack and the tests): it names every context's ports, so the Store is
 * the whole store, and re-exports the kernel's names.
 */
import type {} from './access/ports.ts';
import type {} from './artifacts/ports.ts';
import type {} from './attestation/ports.ts';
import type {} from './audit/ports.ts';
import type {} from './change/ports.ts';
import type {} from './config/ports.ts';
import type {} from './freeze/ports.ts';
import type {} from './gitops/ports.ts';
import type {} from './notify/ports.ts';
import type {} from './promotion/ports.ts';
import type {} from './verification/ports.ts';
import type {} from './webhooks/ports.ts';

export type { CommitPort, Ctx, Deps, Ports, Store, With, WriteOp, WriteOps } from './kernel/deps.ts';
