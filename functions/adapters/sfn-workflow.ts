import { createHash } from 'node:crypto';
import { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { WaveStartInput, Workflow } from '#domain/promotion/ports';
import { waveExecutionInput } from '#domain/promotion/rollout/wave-input';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

export interface SfnWorkflowOptions {
  /** PROMOTION_STATE_MACHINE_ARN (set on the API's write handlers; task responses need no ARN): runs promotions and rollbacks */
  promotionStateMachineArn?: string;
  /** WAVE_STATE_MACHINE_ARN (set on the promotion step): a wave of many targets as a child execution (statemachines/wave.asl.json) */
  waveStateMachineArn?: string;
  client?: SFNClient;
}

/** Errors that mean "this token no longer resumes anything". */
const DEAD_TOKEN = new Set(['TaskDoesNotExist', 'InvalidToken', 'TaskTimedOut']);

/** Step Functions limits SendTaskFailure's error to 256 and cause to 32768 characters. */
const ERROR_MAX = 256;
const CAUSE_MAX = 32_768;

/**
 * Execution name for a promotion: unique per (tenant, promotion), so a second
 * StartExecution is idempotent. Names may be 1-80 characters; keeping to
 * [A-Za-z0-9_-] also keeps CloudWatch logging and metrics working. A readable
 * prefix plus a hash of the exact ids keeps it unique whatever the ids contain.
 */
export function executionName(input: { tenant: string; promotionId: string; attempt?: number }): string {
  const suffix = input.attempt ? `\u0000${input.attempt}` : '';
  const hash = createHash('sha256').update(`${input.tenant}\u0000${input.promotionId}${suffix}`).digest('hex').slice(0, 16);
  const readable = `${input.tenant}-${input.promotionId}${input.attempt ? `-r${input.attempt}` : ''}`
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 80 - hash.length - 1);
  return `${readable}-${hash}`;
}

/** A wave's child execution name: `<promotion>-w<wave>-<hash of tenant, promotion, wave and the parent's token>` (1-80 characters). */
export function waveExecutionName(input: { tenant: string; promotionId: string; wave: number; parentToken: string; part?: number }): string {
  const hash = createHash('sha256').update(`${input.tenant}\u0000${input.promotionId}\u0000${input.wave}\u0000${input.parentToken}`).digest('hex').slice(0, 16);
  // A continuation of the wave (part n > 0: a new execution, its history bounded) has a name of its own.
  const part = input.part ? `-p${input.part}` : '';
  const readable = `${input.promotionId}-w${input.wave}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - hash.length - part.length - 1);
  return `${readable}${part}-${hash}`;
}

/** arn:aws:states:r:a:stateMachine:M (or M:<alias or version>)  ->  arn:aws:states:r:a:execution:M:<name> */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/**
 * The `Workflow` port on AWS Step Functions (the local stack uses local/workflow.ts). One state
 * machine runs promotions and rollbacks alike (a rollback is a promotion record with `rollback` set).
 */
export class SfnWorkflow implements Workflow {
  private readonly client: SFNClient;

  constructor(private readonly options: SfnWorkflowOptions) {
    this.client = options.client ?? traced(new SFNClient({}));
  }

  private get stateMachineArn(): string {
    const arn = this.options.promotionStateMachineArn;
    if (!arn) throw new Error('no state machine ARN configured (PROMOTION_STATE_MACHINE_ARN)');
    return arn;
  }

  async start(input: { tenant: string; promotionId: string; approvalTimeoutSeconds: number; attempt?: number }): Promise<string> {
    const stateMachineArn = this.stateMachineArn;
    const name = executionName(input);
    try {
      const out = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          // Fixed key order: a retried start sends byte-identical input.
          input: JSON.stringify({ tenant: input.tenant, promotionId: input.promotionId, approvalTimeoutSeconds: input.approvalTimeoutSeconds }),
        }),
      );
      return out.executionArn ?? executionArn(stateMachineArn, name);
    } catch (err) {
      // Same name already used (running with other input, or finished): the promotion's flow exists.
      if ((err as Error).name === 'ExecutionAlreadyExists') return executionArn(stateMachineArn, name);
      throw err;
    }
  }

  /**
   * A wave's child execution: its name from the promotion, the wave and a hash of the parent's task token, so a
   * retried start with the same WaveStart token starts no second child (ExecutionAlreadyExists: the one it started).
   */
  async startWave(input: WaveStartInput): Promise<string> {
    const stateMachineArn = this.options.waveStateMachineArn;
    if (!stateMachineArn) throw new Error('no state machine ARN configured (WAVE_STATE_MACHINE_ARN)');
    const name = waveExecutionName(input);
    try {
      const out = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          // Fixed key order: a retried start sends byte-identical input.
          input: JSON.stringify(waveExecutionInput(input)),
        }),
      );
      return out.executionArn ?? executionArn(stateMachineArn, name);
    } catch (err) {
      if ((err as Error).name === 'ExecutionAlreadyExists') return executionArn(stateMachineArn, name);
      throw err;
    }
  }

  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean> {
    return this.live(() => this.client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) })));
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<boolean> {
    return this.live(() =>
      this.client.send(new SendTaskFailureCommand({ taskToken: token, error: error.slice(0, ERROR_MAX), cause: cause.slice(0, CAUSE_MAX) })),
    );
  }

  /** true once sent; false when the token is unknown, finished or timed out. */
  private async live(send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (err) {
      if (DEAD_TOKEN.has((err as Error).name)) return false;
      throw err;
    }
  }
}

/**
 * Built from the environment the stack sets on every write handler. Functions
 * without it (readers, the promotion-step task itself) get a workflow whose
 * start() says which variable is missing.
 */
export function sfnWorkflowFromEnv(source?: env.Source): SfnWorkflow {
  return new SfnWorkflow({
    promotionStateMachineArn: env.PROMOTION_STATE_MACHINE_ARN(source),
    waveStateMachineArn: env.WAVE_STATE_MACHINE_ARN(source),
  });
}
