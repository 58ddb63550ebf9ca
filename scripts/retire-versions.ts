import { DeleteFunctionCommand, LambdaClient, ListVersionsByFunctionCommand, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import {
  DeleteStateMachineVersionCommand,
  DescribeStateMachineAliasCommand,
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  ListStateMachineAliasesCommand,
  ListStateMachineVersionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `npm run retire-versions -- --machine <promotion machine ARN> --machine <wave machine ARN> [--apply]`
 * (docs/operations/upgrading.md). Each deploy publishes a version of each state machine and of the promotion step
 * function and keeps the old ones (infra/flows.ts), so executions that started before it run on to their end on the
 * code they started with. This retires what nothing runs on any more:
 * - a version of a machine that no alias routes to and on which no execution is RUNNING;
 * - a version of a Lambda function that a version of a machine kept (or an alias routed to) names, when no kept
 *   version of a machine names it any more.
 * A version with a running execution is kept and said with its count; run it again later. Without `--apply` it only
 * says what it would delete. Credentials: states:List*, states:Describe*, states:DeleteStateMachineVersion,
 * lambda:ListVersionsByFunction, lambda:DeleteFunction (on the step function's versions).
 */

export interface MachineVersion {
  arn: string;
  /** routed to by an alias (where new executions start) */
  routed: boolean;
  /** executions running on it (at most the first page's count: any is enough to keep it) */
  running: number;
  /** the qualified Lambda ARNs its definition invokes */
  invokes: string[];
}

export interface RetirementPlan {
  keep: { arn: string; why: string }[];
  retire: string[];
  /** function versions (qualified ARNs) to delete: named by retired machine versions only */
  retireFunctions: string[];
}

/** What may go: pure, from what the account says (exported for its unit test). */
export function retirementPlan(versions: readonly MachineVersion[], functionVersions: readonly string[]): RetirementPlan {
  const keep: RetirementPlan['keep'] = [];
  const retire: string[] = [];
  for (const v of versions) {
    if (v.routed) keep.push({ arn: v.arn, why: 'the live alias routes to it' });
    else if (v.running > 0) keep.push({ arn: v.arn, why: `${v.running} execution(s) running on it` });
    else retire.push(v.arn);
  }
  const kept = new Set(keep.flatMap((k) => versions.find((v) => v.arn === k.arn)!.invokes));
  const named = new Set(versions.flatMap((v) => v.invokes));
  // Only versions some machine version named (never one a person published by hand), and none a kept one names.
  const retireFunctions = functionVersions.filter((f) => named.has(f) && !kept.has(f));
  return { keep, retire, retireFunctions };
}

/** The qualified Lambda function ARNs a definition names (`…:function:<name>:<version>`). */
export const invokedVersions = (definition: string): string[] => [
  ...new Set([...definition.matchAll(/arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+:\d+/g)].map((m) => m[0])),
];

/** Reads each machine's versions, aliases and running executions, and every version of the functions they invoke. */
export async function readVersions(
  sfn: SFNClient,
  lambda: LambdaClient,
  machines: readonly string[],
): Promise<{ versions: MachineVersion[]; functionVersions: string[] }> {
  const versions: MachineVersion[] = [];
  const functions = new Set<string>();
  for (const machine of machines) {
    const routed = new Set<string>();
    for (const a of (await sfn.send(new ListStateMachineAliasesCommand({ stateMachineArn: machine }))).stateMachineAliases ?? []) {
      const alias = await sfn.send(new DescribeStateMachineAliasCommand({ stateMachineAliasArn: a.stateMachineAliasArn }));
      for (const r of alias.routingConfiguration ?? []) routed.add(r.stateMachineVersionArn!);
    }
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new ListStateMachineVersionsCommand({ stateMachineArn: machine, ...(nextToken ? { nextToken } : {}) }));
      for (const { stateMachineVersionArn: arn } of page.stateMachineVersions ?? []) {
        const running = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'RUNNING', maxResults: 100 }))).executions?.length ?? 0;
        const { definition } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
        const invokes = invokedVersions(definition ?? '');
        for (const f of invokes) functions.add(f.replace(/:\d+$/, ''));
        versions.push({ arn: arn!, routed: routed.has(arn!), running, invokes });
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
  const functionVersions: string[] = [];
  for (const fn of functions) {
    let marker: string | undefined;
    do {
      const page = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn, ...(marker ? { Marker: marker } : {}) }));
      functionVersions.push(...(page.Versions ?? []).filter((v: FunctionConfiguration) => v.Version !== '$LATEST').map((v) => v.FunctionArn!));
      marker = page.NextMarker;
    } while (marker);
  }
  return { versions, functionVersions };
}

/** Deletes what the plan retires (machine versions first: a function version is named by none of them then). */
export async function retire(sfn: SFNClient, lambda: LambdaClient, plan: RetirementPlan): Promise<void> {
  for (const arn of plan.retire) await sfn.send(new DeleteStateMachineVersionCommand({ stateMachineVersionArn: arn }));
  for (const arn of plan.retireFunctions) {
    const [, name, qualifier] = /:function:([^:]+):(\d+)$/.exec(arn)!;
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: qualifier }));
  }
}

export function describePlan(plan: RetirementPlan, applied: boolean): string {
  const verb = applied ? 'retired' : 'would retire';
  return [
    ...plan.keep.map((k) => `keep    ${k.arn}  (${k.why})`),
    ...plan.retire.map((arn) => `${verb.padEnd(7)} ${arn}`),
    ...plan.retireFunctions.map((arn) => `${verb.padEnd(7)} ${arn}`),
    applied ? '' : plan.retire.length + plan.retireFunctions.length ? '(dry run: --apply deletes them)' : 'nothing to retire',
  ]
    .filter(Boolean)
    .join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { machine: { type: 'string', multiple: true }, apply: { type: 'boolean', default: false } } });
  if (!values.machine?.length) {
    console.error('usage: npm run retire-versions -- --machine <state machine ARN> [--machine <ARN>] [--apply]');
    process.exit(2);
  }
  const sfn = new SFNClient({});
  const lambda = new LambdaClient({});
  const { versions, functionVersions } = await readVersions(sfn, lambda, values.machine);
  const plan = retirementPlan(versions, functionVersions);
  if (values.apply) await retire(sfn, lambda, plan);
  console.log(describePlan(plan, values.apply));
}
