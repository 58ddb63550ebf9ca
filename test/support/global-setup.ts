import type { TestProject } from 'vitest/node';
import { startDynamo, type LocalDynamo } from '../../local/dynamodb.ts';
import { cliBundle } from '../../cli/bundle.mjs';

/** One in-memory DynamoDB Local for the whole run; each integration file makes its own table. */
let dynamo: LocalDynamo | undefined;

export async function setup(project: TestProject) {
  // The CLI's bundle made once, before the files that run the CLI at once would each find it stale.
  await cliBundle();
  dynamo = await startDynamo({});
  project.provide('dynamoEndpoint', dynamo.endpoint);
}

export async function teardown() {
  await dynamo?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}
