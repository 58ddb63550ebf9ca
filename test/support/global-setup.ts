import type { TestProject } from 'vitest/node';
import { startDynamo, type LocalDynamo } from '../../local/dynamodb.ts';

/** One in-memory DynamoDB Local for the whole run; each integration file makes its own table. */
let dynamo: LocalDynamo | undefined;

export async function setup(project: TestProject) {
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
