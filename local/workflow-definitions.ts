import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { compileMachine, STATEMACHINES_DIR, type Compiled } from './workflow-asl.ts';

/**
 * Which definitions each execution of the local workflow runs on, as Step Functions keeps an execution on the version
 * of its state machine it started with (infra/flows.ts `publishLive`). The workflow starts new executions on the
 * folder it is given (statemachines/ by default: this release's); each journal entry records the folder it started
 * on (local/workflow-journal.ts `definitions`), and a restarted workflow runs each RUNNING execution on its own folder
 * to its end. An entry journaled before executions recorded it runs on the workflow's folder.
 *
 * Locally every folder's Task states call this release's step code: stricter than AWS, where an old version's tasks
 * call the step function's version deployed with it (docs/operations/upgrading.md).
 */

/** The repository: a recorded folder is relative to it. */
const REPO_ROOT = join(import.meta.dirname, '..');

/** The previous release's definitions, kept as a fixture (its README says which release and how to refresh it). */
export const PREVIOUS_RELEASE_DIR = join(REPO_ROOT, 'test', 'fixtures', 'previous-release', 'statemachines');

/** A folder as a journal records it: relative to the repository (with `/`), absolute when it is outside. */
export function definitionsLabel(dir: string): string {
  const rel = relative(REPO_ROOT, resolve(REPO_ROOT, dir));
  if (!rel) return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? resolve(REPO_ROOT, dir) : rel.split(sep).join('/');
}

export class MachineDefinitions {
  /** What a new execution records: the folder it starts on ({@link definitionsLabel}). */
  readonly label: string;
  private readonly dir: string;
  private readonly compiled = new Map<string, Compiled>();

  /** `dir`: the folder new executions start on, absolute or relative to the repository. */
  constructor(
    dir: string = STATEMACHINES_DIR,
    private readonly timeScale = 1,
  ) {
    this.dir = resolve(REPO_ROOT, dir);
    this.label = definitionsLabel(this.dir);
  }

  /** The local copy of `machine` from the folder an execution recorded (`recorded`), or the new executions' folder. */
  compile(machine: string, recorded?: string): Compiled {
    const dir = recorded === undefined ? this.dir : resolve(REPO_ROOT, recorded);
    const key = `${dir}\n${machine}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = compileMachine(machine, this.timeScale, dir);
      this.compiled.set(key, compiled);
    }
    return compiled;
  }
}
