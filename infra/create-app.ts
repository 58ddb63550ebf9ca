import { App, Aws, CfnRule, Fn, Tags, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import type { Route } from '../functions/http/routes.ts';
import { AlarmForwarderStack } from './alarm-forwarder.ts';
import { alarmRegionsFrom } from './context.ts';
import { StagelineStack } from './stack.ts';

/**
 * The cdk-nag packs every synth runs: AWS Solutions, Serverless (async failure destinations,
 * tracing, log retention, API access logs, redrive) and NIST 800-53 R5 (backups, encryption keys,
 * VPCs, reserved concurrency, inline policies…). Every finding is closed or acknowledged on the
 * resource it is about, with a reason true of that resource: docs/operations/deploy-aws.md.
 */
export const NAG_PACKS = [AwsSolutionsChecks, ServerlessChecks, NIST80053R5Checks] as const;

/**
 * Builds the app exactly as `cdk synth` does; the infra tests call this too,
 * so they check the same stack, context and cdk-nag packs.
 */
export function createApp(props?: AppProps, options?: { routes?: readonly Route[] }): { app: App; stack: StagelineStack } {
  const app = new App(props);
  // Environment-agnostic (no account/region): synth needs no credentials, and
  // the deploying profile decides where it goes. A second Stageline stack in the
  // account is this app under another name (-c stackName=…; infra/names.ts).
  const stack = new StagelineStack(app, stackNameFrom(app.node.tryGetContext('stackName')), {
    description: 'Stageline: release promotion through an ordered line of environments',
    routes: options?.routes,
  });
  Tags.of(stack).add('project', 'stageline');
  // Targets in other regions watch alarms there: a small stack per region forwards their state changes here.
  const forward = alarmRegionsFrom(app.node.tryGetContext('alarmRegions'), app.node.tryGetContext('homeRegion'));
  if (forward) holdToHomeRegion(stack, forward.home);
  for (const region of forward?.regions ?? []) {
    const f = new AlarmForwarderStack(app, `${stack.stackName}-alarms-${region}`, {
      env: { region },
      homeRegion: forward!.home,
      alarmEmail: app.node.tryGetContext('alarmEmail') as string | undefined,
      description: `Stageline: forwards CloudWatch alarms of ${region} to the Stageline stack in ${forward!.home}`,
    });
    Tags.of(f).add('project', 'stageline');
  }
  // cdk-nag v3 is a policy-validation plugin, not an Aspect: it runs after
  // synthesis, and any unacknowledged error fails `cdk synth`. NAG_PACKS is
  // what the infra tests run too.
  Validations.of(app).addPlugins(...NAG_PACKS.map((Pack) => new Pack(app)));
  return { app, stack };
}

/**
 * With forwarding, the Stageline stack must be in `homeRegion`: the forwarders put alarms on that region's
 * default bus, where only this stack's rule hands them on; deployed elsewhere, they would land on a bus
 * with no rule and no bake would hear of them. Refused at synth when the deploying profile's region (the
 * CDK CLI's CDK_DEFAULT_REGION) is another, and by the template itself (a CloudFormation rule, checked
 * before any resource is made) wherever it is deployed.
 */
function holdToHomeRegion(stack: StagelineStack, home: string): void {
  const deploying = process.env.CDK_DEFAULT_REGION;
  if (deploying && deploying !== home)
    throw new Error(
      `context homeRegion is ${home}, but this deploy goes to ${deploying} (the profile's region): the forwarded alarms would reach a region without this stack. Deploy from ${home} (AWS_REGION=${home} or --profile), or set -c homeRegion=${deploying}`,
    );
  new CfnRule(stack, 'HomeRegion', {
    assertions: [
      {
        assert: Fn.conditionEquals(Aws.REGION, home),
        assertDescription: `This stack forwards alarms to homeRegion ${home} (context homeRegion): deploy it there, or synthesize again with -c homeRegion=<this region>`,
      },
    ],
  });
}

/** The stack's name: context `stackName`, default `Stageline`; a CloudFormation stack name of at most 64 characters (it names the schedule group). */
function stackNameFrom(raw: unknown): string {
  if (raw === undefined || raw === null) return 'Stageline';
  if (typeof raw !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(raw))
    throw new Error(`context stackName must be a stack name (a letter, then letters, digits and dashes, at most 64); got ${JSON.stringify(raw)}`);
  return raw;
}
