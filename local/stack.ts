import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deps, resetDeps } from '../functions/http/deps.ts';
import { ensureTable, startDynamo, type LocalDynamo } from './dynamodb.ts';
import { startGateway, type Gateway, type LocalIamCredential } from './gateway.ts';
import { LocalIssuer } from './issuer.ts';

/**
 * The whole local stack in one process: DynamoDB Local, the table, the token
 * issuer and the gateway serving the real handlers. `npm start` and the
 * integration tests both use it.
 */
export interface LocalStack {
  gateway: Gateway;
  dynamo: LocalDynamo;
  issuer: LocalIssuer;
  iam: LocalIamCredential[];
  tableName: string;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** keep data and keys here; omit for an in-memory stack (tests) */
  dataDir?: string;
  port?: number;
  dynamoPort?: number;
  tableName?: string;
  /** reuse a running DynamoDB Local (tests share one) */
  dynamoEndpoint?: string;
}

export const PIPELINE_ARN = 'arn:aws:iam::000000000000:role/stageline-pipeline';

function localIam(dataDir?: string): LocalIamCredential[] {
  const file = dataDir ? join(dataDir, 'iam.json') : undefined;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalIamCredential[];
  const creds = [{ accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('base64url'), arn: PIPELINE_ARN }];
  if (file) writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const tableName = opts.tableName ?? 'stageline';
  const dynamo: LocalDynamo = opts.dynamoEndpoint
    ? { endpoint: opts.dynamoEndpoint, port: Number(new URL(opts.dynamoEndpoint).port), stop: async () => {} }
    : await startDynamo({ port: opts.dynamoPort, dataDir: opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined });
  await ensureTable(dynamo.endpoint, tableName);
  process.env.TABLE_NAME = tableName;
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  const iam = localIam(opts.dataDir);
  // The pipeline credential is bound to the demo tenant, as MACHINE_PRINCIPALS does on AWS.
  process.env.MACHINE_PRINCIPALS ??= JSON.stringify([{ arn: PIPELINE_ARN, tenant: 'acme', roles: ['deployer'], name: 'pipeline' }]);
  resetDeps();
  deps();
  const issuer = await LocalIssuer.create({ file: opts.dataDir ? join(opts.dataDir, 'issuer.json') : undefined });
  const gateway = await startGateway({ port: opts.port, issuer, iam });
  return {
    gateway,
    dynamo,
    issuer,
    iam,
    tableName,
    async stop() {
      await gateway.close();
      await dynamo.stop();
    },
  };
}
