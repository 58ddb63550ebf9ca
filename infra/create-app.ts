import { App, Tags, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StagelineStack } from './stack.ts';

/**
 * Builds the app exactly as `cdk synth` does; the infra tests call this too,
 * so they check the same stack, context and cdk-nag pack.
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
  // synthesis, and any unacknowledged error fails `cdk synth`.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
