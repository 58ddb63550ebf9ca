import { App, Tags, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { StagelineStack } from './stack.ts';

/**
 * The cdk-nag packs every synth runs: AWS Solutions, and Serverless (async failure destinations,
 * tracing, log retention, API access logs, redrive). NIST 800-53 R5 is not one: see
 * docs/operations/deploy-aws.md.
 */
export const NAG_PACKS = [AwsSolutionsChecks, ServerlessChecks] as const;

/**
 * Builds the app exactly as `cdk synth` does; the infra tests call this too,
 * so they check the same stack, context and cdk-nag packs.
 */
export function createApp(props?: AppProps): { app: App; stack: StagelineStack } {
  const app = new App(props);
  // Environment-agnostic (no account/region): synth needs no credentials, and
  // the deploying profile decides where it goes.
  const stack = new StagelineStack(app, 'Stageline', {
    description: 'Stageline: release promotion through an ordered line of environments',
  });
  Tags.of(stack).add('project', 'stageline');
  // cdk-nag v3 is a policy-validation plugin, not an Aspect: it runs after
  // synthesis, and any unacknowledged error fails `cdk synth`. NAG_PACKS is
  // what the infra tests run too.
  Validations.of(app).addPlugins(...NAG_PACKS.map((Pack) => new Pack(app)));
  return { app, stack };
}
