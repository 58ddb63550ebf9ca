import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_MACHINES, type StateMachineName } from '../infra/state-machines.ts';
import { allStates, type Json, type JsonObject, type State } from '../local/workflow-asl.ts';
import { PREVIOUS_RELEASE_DIR } from '../local/workflow-definitions.ts';

/**
 * `npx tsx scripts/previous-release.ts <commit>`: keeps the release at `<commit>` as the previous release
 * (test/fixtures/previous-release/, its README.md): its state machines verbatim (statemachines/), and the payload each
 * of their Task states sends the step function (step-payloads/<machine>.json), which test/unit/previous-release.test.ts
 * parses with this release's step input and `npm run chaos -- … --upgrade` runs executions on.
 *
 * A payload file holds the release, the `values` an execution fills each path of a payload with (kept from the file
 * being replaced; a path no earlier release had is named, to be given a value by hand as that release's execution
 * fills it), and per Task state its name, its Resource and its Payload template as the definition has it.
 */

export const PREVIOUS_RELEASE = join(PREVIOUS_RELEASE_DIR, '..');
export const payloadFile = (machine: StateMachineName) => join(PREVIOUS_RELEASE, 'step-payloads', `${machine}.json`);

export interface StepPayloads {
  machine: StateMachineName;
  /** the release's commit */
  release: string;
  /** what an execution of that release fills each path (`$.tenant`, `$$.Task.Token`) with */
  values: Record<string, Json>;
  tasks: { state: string; resource: string; payload: JsonObject }[];
}

/** The Task states of a definition (nested Map processors included), each with its Payload template. */
export function tasksOf(definition: { States: Record<string, State> }): StepPayloads['tasks'] {
  return [...allStates(definition)]
    .filter(([, s]) => s.Type === 'Task')
    .map(([state, s]) => ({ state, resource: String(s.Resource), payload: ((s.Parameters as JsonObject | undefined)?.Payload ?? {}) as JsonObject }));
}

/** The paths a payload template fills (`"tenant.$": "$.tenant"`). */
export const pathsOf = (payload: JsonObject): string[] =>
  Object.entries(payload)
    .filter(([k]) => k.endsWith('.$'))
    .map(([, v]) => String(v));

function main(commit: string | undefined): void {
  if (!commit) throw new Error('usage: npx tsx scripts/previous-release.ts <commit of the previous release>');
  const release = execFileSync('git', ['rev-parse', '--short', `${commit}^{commit}`], { encoding: 'utf8' }).trim();
  mkdirSync(join(PREVIOUS_RELEASE, 'step-payloads'), { recursive: true });
  const missing: string[] = [];
  for (const machine of Object.keys(STATE_MACHINES) as StateMachineName[]) {
    const file = STATE_MACHINES[machine].file;
    const text = execFileSync('git', ['show', `${release}:statemachines/${file}`], { encoding: 'utf8' });
    writeFileSync(join(PREVIOUS_RELEASE_DIR, file), text);
    const before = existsSync(payloadFile(machine)) ? (JSON.parse(readFileSync(payloadFile(machine), 'utf8')) as StepPayloads) : undefined;
    const tasks = tasksOf(JSON.parse(text) as { States: Record<string, State> });
    const values: Record<string, Json> = {};
    for (const path of [...new Set(tasks.flatMap((t) => pathsOf(t.payload)))].sort()) {
      if (before && path in before.values) values[path] = before.values[path]!;
      else missing.push(`${machine}: ${path}`);
    }
    const out: StepPayloads = { machine, release, values, tasks };
    writeFileSync(payloadFile(machine), `${JSON.stringify(out, null, 2)}\n`);
  }
  console.log(`test/fixtures/previous-release: the state machines and step payloads of ${release}; say so in its README.md`);
  if (missing.length) {
    console.error(`give these paths the value an execution of ${release} fills them with (step-payloads/<machine>.json values):\n  ${missing.join('\n  ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv[2]);
