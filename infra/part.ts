import type { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * A part of the stack by concern (API, flows, store, events, audit anchor, scheduling, alarms…).
 * Its resources are created in the stack's own scope, not under the part: their construct paths,
 * and so their CloudFormation logical IDs, are those the stack had before it was split into parts,
 * and a deployed stack updates in place. The part is a unit of code, not a level of the tree.
 */
export abstract class StackPart extends Construct {
  constructor(
    /** the scope every resource of the part is created in */
    protected readonly stack: Stack,
    id: string,
  ) {
    super(stack, id);
  }
}
