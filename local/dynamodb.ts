import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '../functions/adapters/keys.ts';
import * as env from '../functions/configuration.ts';

/**
 * Runs DynamoDB Local (Amazon's own implementation, from the jar shipped in
 * the amplify-dynamodb-simulator npm package) as a child process.
 */
export interface LocalDynamo {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL (a crash): what it persisted (-dbPath) stays; resolves when the process is gone (a shared one is left alone) */
  kill?(): Promise<void>;
}

export function jarDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a loopback port can be listened on now. */
export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose next one is free too: `npm start`'s gateway and its demo IdP (the port after the gateway's). */
export async function freePortAndNext(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await portFree(port + 1))) return port;
  }
}

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * The region every local client signs for (and the local API claims to live in): STAGELINE_REGION,
 * else AWS_REGION, else us-east-1, so the local stack can be pointed at any AWS-protocol endpoint.
 * The handlers' own client reads the same variables (functions/http/deps.ts).
 */
export const LOCAL_REGION = env.STAGELINE_REGION() ?? env.AWS_REGION() ?? 'us-east-1';

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
}

/**
 * JVM options for DynamoDB Local. A local stack, a test run or the bench sends a few thousand
 * requests at most: the optimizing JIT (C2) would spend more CPU compiling than it saves in that
 * time, on the cores the handlers need too. The client compiler alone halves DynamoDB Local's CPU
 * per request there (measured: about 220 → 90 ms of its CPU per sequential promotion, 3.9 → 5.6
 * promotions/s); its steady state is slower only after many thousands of requests. The throughput
 * collector spends less CPU than the default G1 on this small, short-lived heap.
 */
const JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseParallelGC'];

/**
 * DynamoDB Local has no authentication and, with -sharedDb, one table set for every caller: whoever
 * reaches its port reads and writes everything. Its jar has no bind-address option (Jetty is built
 * with `new Server(port)`, every interface), so it starts through LoopbackDynamo.java, which sets
 * the connector's host to 127.0.0.1 before the server starts. The launcher is compiled once per
 * source and jar into the temp folder (javac), or run by Java's source launcher where javac is missing.
 */
const LAUNCHER = fileURLToPath(new URL('./LoopbackDynamo.java', import.meta.url));

function launcherArgs(jar: string): string[] {
  const source = readFileSync(LAUNCHER);
  const tag = createHash('sha256').update(source).update(jar).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `stageline-dynamo-${tag}`);
  if (!existsSync(join(dir, 'LoopbackDynamo.class'))) {
    const work = mkdtempSync(join(tmpdir(), 'stageline-dynamo-build-'));
    try {
      execFileSync('javac', ['-nowarn', '-d', work, '-cp', jar, LAUNCHER], { stdio: 'pipe' });
      try {
        renameSync(work, dir);
      } catch {
        // another process compiled it first
      }
    } catch {
      rmSync(work, { recursive: true, force: true });
      return ['-cp', jar, LAUNCHER];
    } finally {
      if (existsSync(work)) rmSync(work, { recursive: true, force: true });
    }
  }
  return ['-cp', `${jar}${delimiter}${dir}`, 'LoopbackDynamo'];
}

export async function startDynamo(opts: { port?: number; dataDir?: string } = {}): Promise<LocalDynamo> {
  const port = opts.port ?? (await freePort());
  const dir = jarDir();
  if (!existsSync(join(dir, 'DynamoDBLocal.jar'))) throw new Error(`DynamoDB Local jar not found in ${dir}`);
  const storage = opts.dataDir ? (mkdirSync(opts.dataDir, { recursive: true }), ['-dbPath', opts.dataDir, '-sharedDb']) : ['-inMemory'];
  const child: ChildProcess = spawn(
    'java',
    [
      ...JVM_OPTIONS,
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      ...launcherArgs(join(dir, 'DynamoDBLocal.jar')),
      '-port',
      String(port),
      '-disableTelemetry',
      ...storage,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (is Java 17+ installed?):\n${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch {
      if (i > 300) throw new Error(`DynamoDB Local did not start on port ${port}:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    port,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

const projection = (i: (typeof TABLE.indexes)[number]) => ({ ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...i.projected] });

/** Creates the table from the same TABLE definition the CDK stack uses (no-op if it exists). */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = localClient(endpoint);
  try {
    const existing = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // A data folder from an older version: add the indexes the keys module declares since.
    const have = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    const missing = TABLE.indexes.filter((x) => !have.has(x.name));
    for (const [n, i] of missing.entries()) {
      // DynamoDB builds one new index at a time per table: wait for the previous one first.
      if (n > 0) {
        for (let k = 0; k < 1800; k++) {
          const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
          if ((d.Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [
            { AttributeName: i.partitionKey, AttributeType: 'S' },
            { AttributeName: i.sortKey, AttributeType: 'S' },
          ],
          GlobalSecondaryIndexUpdates: [
            {
              Create: {
                IndexName: i.name,
                KeySchema: [
                  { AttributeName: i.partitionKey, KeyType: 'HASH' },
                  { AttributeName: i.sortKey, KeyType: 'RANGE' },
                ],
                Projection: projection(i),
              },
            },
          ],
        }),
      );
    }
    // The stream feeds the audit chain and the event outbox (local/stream.ts): older data folders get it too.
    if (!existing.Table?.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamView } }));
    }
    client.destroy();
    return;
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
  }
  const attrs = new Set<string>([TABLE.partitionKey, TABLE.sortKey, ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamView },
      AttributeDefinitions: [...attrs].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' },
          { AttributeName: i.sortKey, KeyType: 'RANGE' },
        ],
        Projection: projection(i),
      })),
    }),
  );
  await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true } }));
  client.destroy();
}

/**
 * Drops a table (its stream and indexes with it), best effort: a DynamoDB Local shared by many stacks (the test
 * suite's, the seeded chaos run's) then does not carry every earlier stack's data to the end of the run.
 */
export async function dropTable(endpoint: string, tableName: string): Promise<void> {
  const client = localClient(endpoint);
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch {
    // already gone, or DynamoDB Local stopping with the run: nothing is left to free
  } finally {
    client.destroy();
  }
}
