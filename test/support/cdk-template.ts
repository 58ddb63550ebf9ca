import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { createApp } from '../../infra/create-app.ts';
import { REPO_ROOT } from '../../infra/function.ts';
import type { StagelineStack } from '../../infra/stack.ts';

/**
 * What the CDK template tests (test/infra/stack-*.test.ts) share: the stack as `cdk synth` makes it,
 * synthesized once per worker, and the helpers that read its template.
 */

/**
 * Bundling ~20 functions with esbuild dominates; the first synth takes tens of seconds, many minutes on a machine
 * shared by several runs (STAGELINE_SYNTH_TIMEOUT_MS then gives it longer).
 */
export const SYNTH_TIMEOUT = Number(process.env.STAGELINE_SYNTH_TIMEOUT_MS) || 600_000;

/** Same context as `cdk synth` (feature flags and defaults from cdk.json). */
export const cdkContext = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** A second app without bundling (fast), for checks that only need the template. */
export const unbundled = (context: Record<string, unknown>) => createApp({ context: { ...cdkContext, ...context, 'aws:cdk:bundling-stacks': [] } });

export type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; DependsOn?: string[] };

type Intrinsic = { 'Fn::GetAtt': [string, string] };
type ApiOperation = { security?: Record<string, string[]>[]; isDefaultRoute?: boolean; 'x-amazon-apigateway-integration': { $ref: string } };
export type ApiBody = {
  openapi: string;
  paths: Record<string, Record<string, ApiOperation>>;
  components: {
    securitySchemes: Record<string, Record<string, unknown>>;
    'x-amazon-apigateway-integrations': Record<string, { uri: Intrinsic } & Record<string, unknown>>;
  };
};
/** The routes an API definition creates when API Gateway imports it: key, authorization type, the function's logical id. */
export const routesOf = (body: ApiBody) =>
  Object.entries(body.paths).flatMap(([p, ops]) =>
    Object.entries(ops)
      .filter(([m]) => m !== 'parameters')
      .map(([m, op]) => {
        const scheme = op.security?.length ? body.components.securitySchemes[Object.keys(op.security[0]!)[0]!]! : undefined;
        const auth = !scheme
          ? 'NONE'
          : (scheme['x-amazon-apigateway-authorizer'] as { type?: string })?.type === 'jwt'
            ? 'JWT'
            : scheme['x-amazon-apigateway-authtype'] === 'awsSigv4'
              ? 'AWS_IAM'
              : '?';
        const integration = body.components['x-amazon-apigateway-integrations'][op['x-amazon-apigateway-integration'].$ref.split('/').pop()!]!;
        const key = op.isDefaultRoute ? '$default' : `${m.toUpperCase()} ${p}`;
        return { key, auth, functionId: integration.uri['Fn::GetAtt'][0] };
      }),
  );

export interface Synthesized {
  app: App;
  stack: StagelineStack;
  template: Template;
}

let synthesis: { done: Synthesized } | { failed: unknown } | undefined;

/**
 * The app, its stack and its template as `cdk synth` makes them: synthesized (bundling every function)
 * with the cdk-nag plugin run, so an unacknowledged nag error makes this throw with the report. Made on
 * the first call in a process and kept (a failure too): vitest.config.ts runs the template test files
 * without isolation, so the files a worker runs share one synth. Call it from a file's beforeAll.
 */
export function synthesized(): Synthesized {
  if (!synthesis) {
    try {
      const { app, stack } = createApp({ context: cdkContext });
      synthesis = { done: { app, stack, template: Template.fromStack(stack) } };
    } catch (err) {
      synthesis = { failed: err };
    }
  }
  if ('failed' in synthesis) throw synthesis.failed;
  return synthesis.done;
}

const template = () => synthesized().template;

/** The one resource of a type: its logical id and the resource. */
export const only = (type: string): [string, Resource] => {
  const found = Object.entries(template().findResources(type)) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** Lambda logical id per function name (the description is `Stageline <function>`; CDK's custom-resource function has none). */
export const functionIds = () =>
  new Map(
    (Object.entries(template().findResources('AWS::Lambda::Function')) as [string, Resource][])
      .filter(([, r]) => String(r.Properties.Description).startsWith('Stageline '))
      .map(([id, r]) => [String(r.Properties.Description).replace(/^Stageline /, ''), id]),
  );

/** All IAM statements attached to a function's role. */
export const statementsOf = (functionId: string): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] => {
  const fn = template().toJSON().Resources[functionId] as Resource;
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return (Object.values(template().findResources('AWS::IAM::Policy')) as Resource[])
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
};
export const actionsOf = (functionId: string) => statementsOf(functionId).flatMap((s) => [s.Action].flat());

/** A template value as text: Refs and attributes as <Id>, <Id.Attr>, joins joined. */
export const flat = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flat).join(',');
  const o = v as Record<string, any>;
  if (o?.Ref) return `<${o.Ref}>`;
  if (o?.['Fn::GetAtt']) return `<${[o['Fn::GetAtt']].flat().join('.')}>`;
  if (o?.['Fn::Join']) return o['Fn::Join'][1].map(flat).join(o['Fn::Join'][0]);
  return JSON.stringify(v);
};

/** Could a string match both patterns (`*` a wildcard)? Only when one's literal start is a start of the other's. */
export const mayOverlap = (a: string, b: string) => {
  const [pa, pb] = [a.split('*')[0]!, b.split('*')[0]!];
  return a.includes('*') || b.includes('*') ? pa.startsWith(pb) || pb.startsWith(pa) : a === b;
};
