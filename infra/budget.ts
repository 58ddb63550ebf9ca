import { CfnResource, type Stack } from 'aws-cdk-lib';

/**
 * The stack's resource budget. CloudFormation refuses a stack of more than 500 resources, and a stack
 * that nears it cannot take the next feature. Routes cost none (the API is its OpenAPI body:
 * infra/api-definition.ts), so what grows the stack is functions, roles, queues and alarms; the
 * budget leaves some 60 for them below it and 260 below CloudFormation's limit (239 measured when it was set). `cdk synth` fails above it.
 */
export const RESOURCE_BUDGET = 300;

/** Makes synthesis fail when the stack holds more resources than the budget allows. */
export function checkResourceBudget(stack: Stack): void {
  stack.node.addValidation({
    validate: () => {
      const count = stack.node.findAll().filter((c) => CfnResource.isCfnResource(c)).length;
      return count > RESOURCE_BUDGET
        ? [
            `the stack holds ${count} resources, above the budget of ${RESOURCE_BUDGET} (infra/budget.ts; CloudFormation's limit is 500): share a function, a role or a queue, or raise the budget knowing why`,
          ]
        : [];
    },
  });
}
