import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../local/dynamodb.ts';
import type { FaultKind, FaultRecord } from '../local/faults.ts';
import type { LocalStack } from '../local/stack.ts';
import { judge, type CheckOptions, type Observed } from './checker.ts';
import type { EffectInputs } from './effects/checks.ts';
import { summarize, type ChaosReport } from './report.ts';
import type { ChaosPromotion, HistoryEntry } from './types.ts';
import type { UpgradeFacts } from './upgrade.ts';

/**
 * A chaos run's whole history on disk (`npm run chaos -- … --out DIR`), in a documented format an outside checker
 * reads without this code (docs/architecture/guarantees.md, "A history anyone can check"): JSON and JSON Lines, one file per
 * part. `npm run chaos -- --check DIR` reads it back and runs the project's own checks over it (`checkHistory`).
 */

/** The format's version (run.json `format`): a reader refuses one it does not know. */
export const HISTORY_FORMAT = 1;

export const FILES = {
  run: 'run.json',
  requests: 'requests.jsonl',
  promotions: 'promotions.jsonl',
  table: 'table.jsonl',
  observed: 'observed.json',
  effects: 'effects.json',
  faults: 'faults.jsonl',
} as const;

/** run.json: what was run, and what the fault plan counted. */
export interface RunInfo {
  format: typeof HISTORY_FORMAT;
  seed: number;
  rate: number;
  /** rates per fault kind over `rate` (the DynamoDB kinds' quarter included) */
  rates: Partial<Record<FaultKind, number>>;
  /** the promotions asked for (`--promotions`); promotions.jsonl holds those requested */
  promotions: number;
  /** tenants driven at once (`--concurrency`; absent from a history written before 2026-11-30: 6, the default) */
  concurrency?: number;
  /** the workload's kinds (chaos/workload.ts KINDS, or those a test gave) */
  kinds: string[];
  /** the run had the effect receivers (then effects.json is there) */
  effects: boolean;
  /** the checker's options (its bound on a promotion's end, the environments whose live value it checks) */
  check: CheckOptions;
  /** faults injected and chances seen, by kind (faults.jsonl lists each one injected) */
  faults: Record<FaultKind, { injected: number; chances: number }>;
  elapsedMs: number;
  phases: Record<string, number>;
  /** crashes of the stack planned (`--crashes`; faults.jsonl lists each that happened, kind `crash`) */
  crashes?: number;
  /** the upgrade (`--upgrade`; faults.jsonl lists it, kind `upgrade`): where it came, the executions that crossed it, their promotions then */
  upgrade?: UpgradeFacts;
  /** the DynamoDB table table.jsonl was scanned from */
  tableName: string;
}

/** What a run writes (the table is scanned from the stack). */
export interface HistoryParts {
  run: RunInfo;
  observed: Observed;
  promotions: readonly ChaosPromotion[];
  effects?: EffectInputs;
  faults: readonly FaultRecord[];
}

/** A binary attribute holding a JSON document the store compressed (a promotion's `doc`, an item's `outbox`): that document. */
function storedJson(bytes: Uint8Array): { $json: unknown } | null {
  try {
    return { $json: JSON.parse(brotliDecompressSync(bytes).toString('utf8')) };
  } catch {
    return null;
  }
}

/**
 * JSON of a stored item: a set is an array; a binary attribute is the JSON document it holds when the store
 * compressed one into it (`{ "$json": … }`), else `{ "$binary": "<base64>" }`. It reads the holder's own value
 * (`this[key]`): JSON.stringify hands a replacer a Buffer already turned into `{ type, data }` by its toJSON.
 */
function plain(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const own = this[key];
  if (own instanceof Set) return [...own];
  if (own instanceof Uint8Array) return storedJson(own) ?? { $binary: Buffer.from(own).toString('base64') };
  return value;
}

const jsonl = (rows: readonly unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

/** Every item of the stack's table, page by page (after the run settled: faults paused, the stack idle). */
export async function* scanTable(stack: LocalStack): AsyncGenerator<Record<string, unknown>> {
  const client = documentClient({ endpoint: stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: stack.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
}

/** Writes a run's history into `dir` (made if missing; the files of an earlier history there are replaced): `table`, its table's items. */
export async function writeHistory(
  dir: string,
  parts: HistoryParts,
  table: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { history, requested: _requested, ...observed } = parts.observed;
  writeFileSync(join(dir, FILES.run), `${JSON.stringify(parts.run, null, 2)}\n`);
  writeFileSync(join(dir, FILES.requests), jsonl(history));
  writeFileSync(join(dir, FILES.promotions), jsonl(parts.promotions));
  writeFileSync(join(dir, FILES.observed), `${JSON.stringify(observed)}\n`);
  if (parts.effects) writeFileSync(join(dir, FILES.effects), `${JSON.stringify(parts.effects)}\n`);
  writeFileSync(join(dir, FILES.faults), jsonl(parts.faults));
  const out = createWriteStream(join(dir, FILES.table));
  try {
    for await (const item of table) if (!out.write(`${JSON.stringify(item, plain)}\n`)) await once(out, 'drain');
  } finally {
    out.end();
    await once(out, 'finish');
  }
}

/** A history read back: observed.json with its history (requests.jsonl) and the promotions requested (promotions.jsonl). */
export interface History {
  run: RunInfo;
  observed: Observed;
  effects?: EffectInputs;
  faults: FaultRecord[];
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (err) {
        throw new Error(`${file}, line ${i + 1}: not JSON (${(err as Error).message})`);
      }
    });
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
}

export function readHistory(dir: string): History {
  const at = (f: string) => join(dir, f);
  if (!existsSync(at(FILES.run))) throw new Error(`${dir} holds no ${FILES.run}: not a history written by npm run chaos -- --out DIR`);
  const run = readJson<RunInfo>(at(FILES.run));
  if (run.format !== HISTORY_FORMAT) throw new Error(`${at(FILES.run)}: format ${String(run.format)}, this checker reads format ${HISTORY_FORMAT}`);
  for (const f of [FILES.requests, FILES.promotions, FILES.observed, FILES.faults])
    if (!existsSync(at(f))) throw new Error(`${dir} holds no ${f} (a history has ${Object.values(FILES).join(', ')})`);
  if (run.effects && !existsSync(at(FILES.effects)))
    throw new Error(`${dir} holds no ${FILES.effects}, though ${FILES.run} says the run had the effect receivers`);
  const observed: Observed = {
    ...readJson<Omit<Observed, 'history' | 'requested'>>(at(FILES.observed)),
    history: readJsonl<HistoryEntry>(at(FILES.requests)),
    requested: readJsonl<ChaosPromotion>(at(FILES.promotions)),
  };
  return {
    run,
    observed,
    ...(run.effects ? { effects: readJson<EffectInputs>(at(FILES.effects)) } : {}),
    faults: readJsonl<FaultRecord>(at(FILES.faults)),
  };
}

/** The project's checks over a history on disk (check + checkEffects): the report a live run printed for it. */
export function checkHistory(dir: string): ChaosReport {
  const h = readHistory(dir);
  const verdict = judge(h.observed, h.effects, h.run.check);
  return summarize(
    {
      seed: h.run.seed,
      rate: h.run.rate,
      promotions: h.run.promotions,
      ...(h.run.concurrency ? { concurrency: h.run.concurrency } : {}),
      elapsedMs: h.run.elapsedMs,
      phases: h.run.phases,
      faults: h.run.faults,
      effects: h.run.effects,
      ...(h.run.crashes ? { crashes: h.run.crashes } : {}),
      ...(h.run.upgrade ? { upgrade: h.run.upgrade } : {}),
    },
    h.observed.requested,
    h.observed,
    verdict,
  );
}
