import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './function.ts';

/** The DynamoDB adapter (split by area) whose commands the function grants are derived from. */
export const STORE_DIR = path.join(REPO_ROOT, 'functions', 'adapters', 'store');
const STORE_SOURCE = `${STORE_DIR}/*.ts`;
const storeSource = () =>
  readdirSync(STORE_DIR)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => readFileSync(path.join(STORE_DIR, f), 'utf8'))
    .join('\n');

/** lib-dynamodb / client-dynamodb command (without `Command`) -> IAM actions. */
const BY_COMMAND: Record<string, { read?: string[]; write?: string[] }> = {
  Get: { read: ['dynamodb:GetItem'] },
  GetItem: { read: ['dynamodb:GetItem'] },
  BatchGet: { read: ['dynamodb:BatchGetItem'] },
  BatchGetItem: { read: ['dynamodb:BatchGetItem'] },
  Query: { read: ['dynamodb:Query'] },
  Scan: { read: ['dynamodb:Scan'] },
  TransactGet: { read: ['dynamodb:GetItem'] },
  TransactGetItems: { read: ['dynamodb:GetItem'] },
  Put: { write: ['dynamodb:PutItem'] },
  PutItem: { write: ['dynamodb:PutItem'] },
  Update: { write: ['dynamodb:UpdateItem'] },
  UpdateItem: { write: ['dynamodb:UpdateItem'] },
  Delete: { write: ['dynamodb:DeleteItem'] },
  DeleteItem: { write: ['dynamodb:DeleteItem'] },
  BatchWrite: { write: ['dynamodb:BatchWriteItem'] },
  BatchWriteItem: { write: ['dynamodb:BatchWriteItem'] },
  // No IAM action of its own: authorised per item (below).
  TransactWrite: {},
  TransactWriteItems: {},
};

/** Items of a TransactWrite: each is authorised as its own action. */
const BY_TRANSACT_ITEM: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/**
 * The item-level DynamoDB actions the adapter's source sends, split into what
 * readers need and what only writers need. Derived from the code so a new
 * command (UpdateCommand, a ConditionCheck in a transaction...) is granted
 * with it and nothing else is; an unknown command fails the synth.
 */
export function storeActions(source = storeSource()): { read: string[]; write: string[] } {
  const read = new Set<string>();
  const write = new Set<string>();
  for (const [, command] of source.matchAll(/new (\w+)Command\(/g)) {
    const grant = BY_COMMAND[command!];
    if (!grant) throw new Error(`${STORE_SOURCE} sends ${command}Command, which infra/store-actions.ts does not map to IAM actions`);
    grant.read?.forEach((a) => read.add(a));
    grant.write?.forEach((a) => write.add(a));
  }
  for (const [, kind] of source.matchAll(/\b(Put|Update|Delete|ConditionCheck): \{/g)) write.add(BY_TRANSACT_ITEM[kind!]!);
  return { read: [...read].sort(), write: [...write].filter((a) => !read.has(a)).sort() };
}
