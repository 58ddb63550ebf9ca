import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STEPS, stepInput, type StepName } from '../../domain/promotion/step/step-table.ts';
import { STATE_MACHINES, type StateMachineName } from '../../infra/state-machines.ts';
import type { Json, JsonObject, State } from '../../local/workflow-asl.ts';
import { PREVIOUS_RELEASE_DIR } from '../../local/workflow-definitions.ts';
import { payloadFile, pathsOf, tasksOf, type StepPayloads } from '../../scripts/previous-release.ts';

/**
 * The previous release kept as a fixture (test/fixtures/previous-release/): an execution that started on its state
 * machines runs on to its end across an upgrade, and on AWS its next step may come to this release's step function
 * (a wave started after the deploy, a retained version's next step once the old function version is retired). Every
 * payload a Task state of the old definitions sends must be one this release's step input accepts, whole.
 */

const MACHINES = Object.keys(STATE_MACHINES) as StateMachineName[];
const definition = (machine: StateMachineName) =>
  JSON.parse(readFileSync(join(PREVIOUS_RELEASE_DIR, STATE_MACHINES[machine].file), 'utf8')) as { States: Record<string, State> };
const payloads = (machine: StateMachineName) => JSON.parse(readFileSync(payloadFile(machine), 'utf8')) as StepPayloads;

/** A payload template filled as an execution fills it (`"tenant.$": "$.tenant"` → `"tenant": "acme"`), with the fixture's values. */
function fill(payload: JsonObject, values: Record<string, Json>, state: string): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => {
      if (!k.endsWith('.$')) return [k, v];
      const path = String(v);
      if (!(path in values)) throw new Error(`${state}: no value for ${path} in the fixture's values (what does an execution fill it with?)`);
      return [k.slice(0, -2), values[path]!];
    }),
  );
}

/** What this release's step function makes of the previous release's payloads: one line per payload it would not take whole. */
function incompatible(file: StepPayloads): string[] {
  const out: string[] = [];
  for (const task of file.tasks) {
    const sent = fill(task.payload, file.values, task.state);
    const step = String(sent.step);
    const row = (STEPS as Record<string, (typeof STEPS)[StepName] | undefined>)[step];
    if (!row) {
      out.push(`${file.machine} ${task.state}: step '${step}' is not in this release's step table (dropped or renamed)`);
      continue;
    }
    if (row.waitsForToken !== task.resource.endsWith('.waitForTaskToken'))
      out.push(`${file.machine} ${task.state}: step '${step}' ${row.waitsForToken ? 'now waits for a task token' : 'no longer waits for a task token'}`);
    const parsed = stepInput.safeParse(sent);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
      out.push(`${file.machine} ${task.state}: step '${step}' refused its payload (${why})`);
      continue;
    }
    // A field the step input no longer knows is dropped without a word: the step would never read it.
    const dropped = Object.keys(sent).filter((k) => !(k in parsed.data));
    if (dropped.length) out.push(`${file.machine} ${task.state}: step '${step}' drops ${dropped.join(', ')}`);
  }
  return out;
}

describe('the previous release kept as a fixture', () => {
  it.each(MACHINES)('keeps every Task state of its %s machine with the payload it sends, and a value for each path it fills', (machine) => {
    const file = payloads(machine);
    expect(file.machine).toBe(machine);
    // The payloads are the definitions' own (npx tsx scripts/previous-release.ts <commit> writes both).
    expect(file.tasks).toEqual(tasksOf(definition(machine)));
    expect(file.tasks.length).toBeGreaterThan(machine === 'promotion' ? 10 : 3);
    expect(Object.keys(file.values).sort()).toEqual([...new Set(file.tasks.flatMap((t) => pathsOf(t.payload)))].sort());
    const readme = readFileSync(join(PREVIOUS_RELEASE_DIR, '..', 'README.md'), 'utf8');
    expect(readme, 'README.md names the release').toContain(file.release);
  });

  it.each(MACHINES)('sends, from each Task state of its %s machine, a payload this release’s step function takes whole', (machine) => {
    const file = payloads(machine);
    const steps = new Set(file.tasks.map((t) => t.payload.step));
    expect(steps.size).toBeGreaterThan(machine === 'promotion' ? 10 : 2);
    expect(incompatible(file)).toEqual([]);
  });

  it('names the step and the field of an old payload this release would not take', () => {
    const file = payloads('wave');
    const apply = file.tasks.find((t) => t.payload.step === 'wave-apply')!;
    const doctored = (payload: JsonObject, values: Record<string, Json> = file.values): StepPayloads => ({
      ...file,
      values,
      tasks: [{ ...apply, payload }],
    });
    expect(incompatible(doctored({ ...apply.payload, step: 'wave-change' }))).toEqual([
      "wave WaveApply: step 'wave-change' is not in this release's step table (dropped or renamed)",
    ]);
    expect(incompatible(doctored({ ...apply.payload, 'first.$': '$.batch.offset' }))).toEqual(["wave WaveApply: step 'wave-apply' drops first"]);
    expect(incompatible(doctored(apply.payload, { ...file.values, '$.batch.offset': 'ten' }))).toEqual([
      expect.stringMatching(/^wave WaveApply: step 'wave-apply' refused its payload \(offset: /),
    ]);
    expect(incompatible({ ...file, tasks: [{ ...apply, resource: `${apply.resource}.waitForTaskToken` }] })).toEqual([
      "wave WaveApply: step 'wave-apply' no longer waits for a task token",
    ]);
    expect(() => incompatible(doctored({ ...apply.payload, 'part.$': '$.part' }))).toThrow(/WaveApply: no value for \$\.part/);
  });
});
