import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './function.ts';

/** The ASL files (deployed by infra/flows.ts, run locally by local/workflow.ts). */
export const STATEMACHINES_DIR = path.join(REPO_ROOT, 'statemachines');

/**
 * Every state machine the stack deploys: its ASL file and the names of the
 * `${...}` placeholders the stack substitutes in it (definitionSubstitutions).
 * test/unit/asl.test.ts checks each file against this list.
 */
export const STATE_MACHINES = {
  // Promotions and rollbacks alike: a rollback is a promotion record with `rollback` set, and the
  // steps read the record to decide its path (domain/promotion/step/steps.ts), so one machine runs both.
  promotion: { file: 'promotion.asl.json', substitutions: ['PromotionStepFunctionArn'] },
  // A wave of many targets as a child execution of the promotion flow (started with its WaveStart token): the same step function.
  wave: { file: 'wave.asl.json', substitutions: ['PromotionStepFunctionArn'] },
} as const satisfies Record<string, { file: string; substitutions: readonly string[] }>;

export type StateMachineName = keyof typeof STATE_MACHINES;
export type SubstitutionKey<M extends StateMachineName> = (typeof STATE_MACHINES)[M]['substitutions'][number];

export const aslPath = (machine: StateMachineName) => path.join(STATEMACHINES_DIR, STATE_MACHINES[machine].file);

/** `${Name}` placeholders used in an ASL text. */
export const placeholdersIn = (asl: string): string[] => [...new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))].sort();

/** All statemachines/*.asl.json files, with their placeholders. */
export function aslFiles(): { file: string; text: string; placeholders: string[] }[] {
  return readdirSync(STATEMACHINES_DIR)
    .filter((f) => f.endsWith('.asl.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(STATEMACHINES_DIR, file), 'utf8');
      return { file, text, placeholders: placeholdersIn(text) };
    });
}
