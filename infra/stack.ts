/**
 * The Stageline stack: HTTP API -> one Lambda per handler (the read-only handlers of an area share
 * one, FUNCTION_GROUPS) -> one DynamoDB table. Routes, handlers and the table's keys all come from
 * the code (routes.ts, keys.ts), so the infrastructure cannot drift from what the handlers expect.
 *
 * The stack composes its parts, one per concern, each in its own file: the store (infra/store.ts),
 * identity (identity.ts), events (events.ts), the functions (functions.ts), the audit anchor
 * (audit-anchor.ts), the promotion flow (flows.ts), scheduling (scheduling.ts), the API (api.ts),
 * what each bundle needs (needs.ts, from the adapter table adapters.ts) and the alarms (alarms.ts).
 * The parts create their resources in the stack's own scope (infra/part.ts), so the logical IDs
 * are those of a deployed stack. Context keys: infra/context.ts.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AUTO_PROMOTION_TRIGGERS } from '../domain/kernel/events.ts';
import { NOTIFY_ON } from '../domain/notify/notifier.ts';
import { WEBHOOK_BUS_TYPES } from '../domain/webhooks/model.ts';
import { servesAppKeys } from './access.ts';
import { Alarms } from './alarms.ts';
import { Api } from './api.ts';
import { checkResourceBudget } from './budget.ts';
import type { Route } from '../functions/http/routes.ts';
import { auditShipper } from './audit-stream.ts';
import { AuditAnchor } from './audit-anchor.ts';
import { contextOf } from './context.ts';
import { DomainEvents } from './events.ts';
import { PromotionFlow } from './flows.ts';
import type { HandlerFunction } from './function.ts';
import { Functions } from './functions.ts';
import { Identity } from './identity.ts';
import { acknowledgePolicies, noFunctionDlq } from './acknowledgements.ts';
import { AdapterNeeds } from './needs.ts';
import { Scheduling } from './scheduling.ts';
import { DataStore } from './store.ts';

export interface StagelineStackProps extends StackProps {
  /** the routes the API serves: the route table (functions/http/routes.ts) unless a test adds rows */
  routes?: readonly Route[];
}

export class StagelineStack extends Stack {
  readonly table: dynamodb.Table;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly api: IHttpApi;
  readonly functions: Map<string, HandlerFunction>;
  readonly eventBus: events.EventBus;
  /** Runs promotions and rollbacks alike (a rollback is a promotion record with `rollback` set). */
  readonly promotionStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props?: StagelineStackProps) {
    super(scope, id, props);
    checkResourceBudget(this);
    const context = contextOf(this);

    const store = new DataStore(this, 'StorePart');
    const identity = new Identity(this, 'IdentityPart');
    const events = new DomainEvents(this, 'EventsPart');
    const functions = new Functions(this, 'FunctionsPart', store, context);
    const fn = (handler: string) => functions.fn(handler);
    const anchor = new AuditAnchor(this, 'AuditAnchorPart', store, events, fn('stream'), context.checkpointLock);
    auditShipper(store, events, fn('audit-ship'));
    const flow = new PromotionFlow(this, 'FlowPart', fn('promotion-step'));

    // Auto-promotion is evaluated by the system when its inputs change (the local bus has the same rule).
    events.busRule(
      'AutoPromote',
      'Evidence, deployments and completed promotions re-evaluate auto-promotion rules',
      AUTO_PROMOTION_TRIGGERS,
      fn('auto-promote'),
      4,
      Duration.hours(2),
    );
    // Monitors (domain/freeze/monitors.ts): every function holding the monitor checks learns the account and region monitors
    // must be in (infra/functions.ts, from its bundle); alarms going to ALARM roll back what bakes under them.
    events.monitorAlarms(fn('alarm-state'));
    events.registryPush(fn('registry-push'));
    // A wave's child execution that failed, timed out or was stopped: its parent is told (domain/promotion/rollout/wave-run.ts).
    events.waveStatus(fn('wave-status'), flow.waveMachineArn);
    // Asynchronous invocations: what a handler still fails after Lambda's retries goes to the on-failure queue
    // (events.onAsyncFailure), not nowhere. Retries are safe for each (idempotent by event id, or acting on the
    // present state), and the maximum age is the horizon its rule or schedule already gives the event.
    // auto-promote: runOnce by event id; an evaluation two hours late is still of the current state.
    events.onAsyncFailure(fn('auto-promote'), 2, Duration.hours(2), "the AutoPromote rule on the stack's bus");
    // alarm-state: an automatic rollback is a reaction to an alarm; one still failing an hour later is for a person
    // to decide on (the queue's alarm tells them), not to happen by surprise hours after the alarm.
    events.onAsyncFailure(fn('alarm-state'), 2, Duration.hours(1), 'the MonitorAlarms rule on the default bus');
    // registry-push: a digest already published is not published again; a push two hours old is published by hand.
    events.onAsyncFailure(fn('registry-push'), 2, Duration.hours(2), 'the RegistryPush rule on the default bus');
    // wave-status: a token already answered is ignored, so a retry is safe; an hour late, the parent's own time-out is near.
    events.onAsyncFailure(fn('wave-status'), 2, Duration.hours(1), 'the WaveStatus rule on the default bus');

    // Groups become roles: the user pool's pre-token-generation trigger (V2_0: it overrides the access token's claims too)
    // maps a federated user's IdP groups through their tenant's mapping; its failures fail the sign-in and count in the
    // account's Lambda errors alarm (infra/alarms.ts).
    identity.userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, fn('pre-token'), cognito.LambdaVersion.V2_0);
    noFunctionDlq(
      fn('pre-token'),
      'Invoked synchronously by the user pool while it makes a token: a failure fails that sign-in or refresh at once (the person sees it and signs in again), nothing is queued to be lost.',
    );
    const scheduling = new Scheduling(this, 'SchedulingPart', events, fn('schedule-fire'));
    // schedule-fire: the schedules themselves retry the invoke within an hour (functions/adapters/scheduler.ts
    // RetryPolicy); a resume, sweep, reminder or freeze edge still failing an hour after its time is for a person.
    events.onAsyncFailure(fn('schedule-fire'), 2, Duration.hours(1), 'the one-time EventBridge Scheduler schedules (SchedulerRole)');
    const api = new Api(this, 'ApiPart', identity, functions, props?.routes);
    identity.setConsoleUrl(this, `${api.stage.url.replace(/\/$/, '')}/dashboard`);
    // App reads (effective config, OFREP) also answer at a function URL: the app key is checked in the
    // function, so the poll costs a Lambda invocation without API Gateway's $1.00 per million
    // (bench: the cost per million unchanged polls). Only app-key routes are served there (appRouteOfUrl).
    for (const name of [...functions.functions.keys()].filter(servesAppKeys)) {
      const target = fn(name);
      const url = target.addFunctionUrl({
        authType: lambda.FunctionUrlAuthType.NONE,
        cors: {
          allowedOrigins: context.allowedOrigins,
          allowedMethods: [lambda.HttpMethod.GET, lambda.HttpMethod.POST],
          allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'if-none-match'],
          exposedHeaders: ['etag'],
          maxAge: Duration.hours(1),
        },
      });
      // The URL's two resource-based permissions (lambda:InvokeFunctionUrl with auth NONE, lambda:InvokeFunction only via the URL).
      for (const id of ['invoke-function-url', 'invoke-function']) {
        const permission = target.node.tryFindChild(id);
        if (!permission) throw new Error(`${name}: its function URL has no ${id} permission`);
        Validations.of(permission).acknowledge({
          id: 'NIST.800.53.R5-LambdaFunctionPublicAccessProhibited',
          reason: `${name} answers app-key reads at its function URL, open on purpose (auth NONE, and invocable only through the URL): the function itself authenticates the app key (Bearer or X-API-Key; only the SHA-256 of its secret is stored) and answers only app-key routes there.`,
        });
      }
      new CfnOutput(this, `AppReadUrl${name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`, {
        value: url.url,
        description: `${name}: app-key reads without API Gateway (same paths as the API)`,
      });
    }

    // Notifications: the notifier behind one bus rule (retries with backoff, then a DLQ); Slack over the
    // outbound guard, email through SES v2 from a verified identity; Cognito is the directory of approvers.
    events.busRule(
      'Notify',
      'Approval requests, decisions, outcomes and break-glass uses go to Slack and email',
      NOTIFY_ON,
      fn('notifier'),
      8,
      Duration.hours(6),
    );
    fn('notifier').addEnvironment('PUBLIC_URL', api.stage.url.replace(/\/$/, ''));
    // The stream consumer signs promotions' attestations: their verifier id and URIs are the API's URL.
    fn('stream').addEnvironment('PUBLIC_URL', api.stage.url.replace(/\/$/, ''));
    // notifier: delivered once per event id and target, so a retry sends nothing twice; an approval request is still
    // worth sending hours later (the rule's six hours too).
    events.onAsyncFailure(fn('notifier'), 2, Duration.hours(6), "the Notify rule on the stack's bus");

    new AdapterNeeds(this, 'NeedsPart', { context, store, identity, events, functions, anchor, flow, scheduling });

    // Outbound webhooks (domain/webhooks): the delivery function behind its own bus rule; retries and redeliveries
    // are one-time schedules invoking it (their env and IAM, and the signing secrets' grants, come from infra/adapters.ts).
    events.busRule(
      'Webhooks',
      "Domain events go to the tenants' webhook subscriptions (Standard Webhooks)",
      WEBHOOK_BUS_TYPES,
      fn('webhook-deliver'),
      8,
      Duration.hours(6),
    );
    scheduling.allowInvoke(fn('webhook-deliver'));
    // webhook-deliver: a subscriber's failures are retried by its own schedules, so Lambda retries only the function's
    // own failures (store, scheduler); a delivery is made once per event and subscription, so a retry sends nothing
    // twice; six hours, as its rule.
    events.onAsyncFailure(fn('webhook-deliver'), 2, Duration.hours(6), "the Webhooks rule on the stack's bus and its own retry schedules (SchedulerRole)");

    new Alarms(this, 'AlarmsPart', {
      machine: flow.machine,
      waveMachine: flow.waveMachine,
      api: api.api,
      events,
      streamFn: fn('stream'),
      shipFn: fn('audit-ship'),
      appReadFns: [...functions.functions.keys()].filter(servesAppKeys).map(fn),
      alarmEmail: context.alarmEmail,
    });

    this.table = store.table;
    this.userPool = identity.userPool;
    this.userPoolClient = identity.userPoolClient;
    this.api = api.api;
    this.functions = functions.functions;
    this.eventBus = events.eventBus;
    this.promotionStateMachine = flow.machine;

    new CfnOutput(this, 'ApiUrl', { value: api.stage.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'LoginUrl', {
      value: identity.domain.baseUrl(),
      description: 'The user pool domain: sign-in pages (OAuth 2.0 authorization code + PKCE)',
    });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'PromotionStateMachineArn', { value: this.promotionStateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });

    // Each IAM policy's "*" statements and inline form, acknowledged by what they hold once synthesized (a read-only aspect).
    acknowledgePolicies(this);
  }
}
