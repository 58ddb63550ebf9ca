/**
 * Creation order in a CloudFormation template: which resources name another by a string without
 * depending on it (test/infra/deploy.test.ts). CloudFormation creates resources in dependency order
 * only; a resource that names another by a literal (a stage's RouteSettings naming route keys)
 * may be created first, and the service refuses it.
 */
export type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string | string[] }>;

/** Properties by which AWS names a resource, per type: another resource naming it by this value needs it created first. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::ApiGatewayV2::Route': 'RouteKey',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Events::EventBus': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Cognito::UserPoolGroup': 'GroupName',
};

/**
 * Properties by which one resource refers to another (CloudFormation and the services look the
 * other up when the resource is created): a string under one of them that is another resource's
 * name must come with a dependency on it. Policies and environment variables are read at run time.
 */
const REFERENCING = new Set([
  'RouteSettings',
  'FunctionName',
  'LogGroupName',
  'GroupName',
  'ScheduleGroupName',
  'Bucket',
  'BucketName',
  'EventBusName',
  'QueueName',
  'QueueUrl',
  'TopicName',
  'TopicArn',
  'RoleName',
  'Roles',
  'SecretId',
  'StateMachineName',
  'StateMachineArn',
  'Target',
  'Targets',
  'DestinationArn',
  'Arn',
  'Destination',
]);

/** Every string (object keys too) and every intrinsic under a REFERENCING property of a resource's properties. */
function mentions(value: unknown, out = new Set<string>(), under = false): Set<string> {
  if (typeof value === 'string') {
    if (under) out.add(value);
  } else if (Array.isArray(value)) value.forEach((v) => mentions(v, out, under));
  else if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (under && keys.length === 1 && keys[0]!.startsWith('Fn::')) out.add(JSON.stringify(value));
    for (const [k, v] of Object.entries(value)) {
      if (under) out.add(k);
      mentions(v, out, under || REFERENCING.has(k));
    }
  }
  return out;
}

/** The route keys an HTTP API defined by its OpenAPI body creates (`GET /path`, `$default`): names of the API. */
function routeKeysOf(r: Resources[string]): string[] {
  const paths =
    r.Type === 'AWS::ApiGatewayV2::Api' ? (r.Properties?.Body?.paths as Record<string, Record<string, { isDefaultRoute?: boolean }>> | undefined) : undefined;
  return Object.entries(paths ?? {}).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => method !== 'parameters')
      .map(([method, op]) => (op.isDefaultRoute ? '$default' : `${method.toUpperCase()} ${path}`)),
  );
}

/** Logical ids a resource depends on: DependsOn, Ref, Fn::GetAtt, and ${X} in Fn::Sub. */
function directDependencies(r: Resources[string]): Set<string> {
  const deps = new Set<string>([r.DependsOn ?? []].flat());
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Ref' && typeof x === 'string') deps.add(x);
        else if (k === 'Fn::GetAtt') deps.add(Array.isArray(x) ? String(x[0]) : String(x).split('.')[0]!);
        else if (k === 'Fn::Sub') for (const [, id] of JSON.stringify(x).matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) deps.add(id!);
        walk(x);
      }
    }
  };
  walk(r.Properties);
  return deps;
}

/** Resources named by a string elsewhere in the template that the naming resource does not depend on (directly or not). */
export function missingDependencies(all: Resources): string[] {
  const names = new Map<string, string[]>();
  for (const [id, r] of Object.entries(all)) {
    const prop = NAME_PROPERTIES[r.Type];
    const name = prop ? r.Properties?.[prop] : undefined;
    for (const n of [...(name === undefined ? [] : [name]), ...routeKeysOf(r)]) {
      const key = typeof n === 'string' ? n : JSON.stringify(n);
      names.set(key, [...(names.get(key) ?? []), id]);
    }
  }
  const direct = new Map(Object.entries(all).map(([id, r]) => [id, directDependencies(r)]));
  const reaches = (from: string, to: string) => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length) {
      const id = stack.pop()!;
      if (id === to) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(direct.get(id) ?? []));
    }
    return false;
  };
  const problems: string[] = [];
  for (const [id, r] of Object.entries(all)) {
    for (const m of mentions(r.Properties)) {
      for (const named of names.get(m) ?? []) {
        if (named !== id && !reaches(id, named))
          problems.push(`${id} (${r.Type}) names ${named} (${all[named]!.Type}) by ${JSON.stringify(m)} but does not depend on it`);
      }
    }
  }
  return problems;
}
