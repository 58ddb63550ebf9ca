import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The local workflow's journal: every execution it started, with its input and status, kept in a file so a
 * restarted local stack resumes what was running (local/workflow.ts resume()).
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface JournalEntry {
  id: string;
  /** the state machine: 'promotion' or 'wave' (local/workflow.ts MACHINE, WAVE_MACHINE) */
  machine: string;
  input: { tenant: string; promotionId: string; approvalTimeoutSeconds?: number; [key: string]: unknown };
  status: ExecutionStatus;
  /**
   * The folder of definitions it started on, relative to the repository (statemachines, or a previous release's kept
   * as a fixture): a restarted workflow runs it on these to its end (local/workflow-definitions.ts). Absent in a
   * journal written before executions recorded it: it runs on the definitions the workflow starts new executions on.
   */
  definitions?: string;
  startedAt: string;
  endedAt?: string;
}

/** The journaled executions (none when there is no file yet). */
export function readJournal(file: string | undefined): JournalEntry[] {
  if (!file || !existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { executions: JournalEntry[] }).executions;
}

/** Writes the journal whole, through a temporary file renamed over it (a crash leaves the old one or the new one). */
export function writeJournal(file: string, executions: JournalEntry[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ executions }, null, 2));
  renameSync(tmp, file);
}
