import { Command, Option } from 'commander';
import { values, fail, q, int } from '../context.ts';
import type { Environment, EnvironmentList, EnvironmentRollback, PromotionCreate, PromotionRollback, PromotionRollbackPreview, Status } from '../answers.ts';
import { api } from '../http.ts';
import { grid, when, out, impactLines } from '../output.ts';
import { confirm, describe, settle, dryRun, inferArtifact, waitOptions } from '../promotion-view.ts';

/** promote (an artifact version or the config set) and `promote status` */
export function registerPromote(program: Command): void {
  const promote = waitOptions(
    program
      .command('promote')
      .description(
        'promote an artifact version (--artifact), a release bundle (--bundle) or the whole config set (--config); `promote status` shows every environment',
      )
      .argument('[version]', 'the artifact version (with --artifact)')
      .option('--to <env>', 'target environment (required)')
      .option('--from <env>', 'source environment (default: the one before --to in the line)')
      .option('--artifact <name>', 'the artifact to promote')
      .option('--config', 'promote the config set (FULL)')
      .option('--bundle <name>', 'promote a release bundle: every member (and its configuration) as one unit (stageline bundles)')
      .option('--bundle-digest <sha256:…>', "the bundle's version (default: the newest of that name)")
      .option('--dry-run', 'show what would change, the gates and the approval needed; change nothing')
      .option('--notes <text>', 'release notes')
      .option('--no-auto-start', 'create it without running the gates yet: attach evidence (stageline evidence), then stageline validate')
      .option('--sync-registries', "require the copy into the target's registries (fail if it has none); it happens whenever the target lists registries")
      .addOption(new Option('--when-frozen <mode>', 'inside a freeze window: wait for it to end, or fail').choices(['wait', 'fail'])),
  ).action(async (version: string | undefined) => {
    // Not a required option: `promote status` (a subcommand) has no --to.
    const to = values.to ?? fail("required option '--to <env>' not specified (stageline promote --help)");
    // --from defaults to the environment --to comes after: its one `after`, or the one before it in the line
    // (floe's `promote v1.2.3 --to=staging`); a join names several, so --from chooses.
    let from = values.from;
    if (!from) {
      const line = (await api<EnvironmentList>('GET', '/api/v1/environments')).items.sort((a, b) => a.position - b.position);
      const i = line.findIndex((e) => e.name === to);
      if (i < 0) fail(`no environment '${to}' (the line is ${line.map((e) => e.name).join(' → ')})`);
      const after = line[i]!.after?.length ? line[i]!.after : i > 0 ? [line[i - 1]!.name] : [];
      if (!after.length) fail(`'${to}' is the first environment: nothing comes before it (publish into it instead)`);
      if (after.length > 1) fail(`'${to}' comes after ${after.join(' and ')}: say which one with --from`);
      from = after[0]!;
    }
    const whenFrozen = values['when-frozen'];
    const common = {
      sourceEnvironment: from,
      targetEnvironment: to,
      dryRun: values['dry-run'] ?? false,
      ...(values.notes ? { notes: values.notes } : {}),
      ...(whenFrozen ? { whenFrozen } : {}),
      ...(values['auto-start'] === false ? { autoStart: false } : {}),
    };
    let body: Record<string, unknown>;
    if (values.bundle) {
      if (version || values.config || values.artifact) fail('promote --bundle takes no version, --artifact or --config: the bundle names what it moves');
      body = { ...common, bundle: values.bundle, ...(values['bundle-digest'] ? { bundleDigest: values['bundle-digest'] } : {}) };
    } else if (values.config) {
      if (version) fail('promote --config takes no version: it promotes the whole config set of --from');
      body = { ...common, promotionType: 'FULL' };
    } else if (version) {
      body = { ...common, artifact: values.artifact ?? (await inferArtifact(from)), version };
    } else {
      fail('say what to promote: a version (promote v1.2.3 --to staging [--artifact <name>]), --bundle <name>, or --config for the config set');
    }
    if (values['sync-registries'] && !values.config && !values.bundle) {
      const target = await api<Environment>('GET', `/api/v1/environments/${q(to)}`);
      if (!target.registries?.length)
        fail(`--sync-registries: '${to}' lists no registries (PATCH /api/v1/environments/${to} with "registries": [{"name", "url"}])`);
    }
    const r = await api<PromotionCreate>('POST', '/api/v1/promotions', body);
    if ('dryRun' in r) out(r, () => dryRun(r));
    else await settle(r);
  });
  promote
    .command('status')
    .description('what each environment runs; pending promotions and why')
    .option('--env <env>', 'one environment')
    .action(async () => {
      const r = await api<Status>('GET', `/api/v1/status${values.env ? `?env=${q(values.env)}` : ''}`);
      out(r, () => {
        const names = new Set(r.environments.flatMap((e) => e.artifacts.map((a) => a.artifact)));
        const rows: string[][] = [];
        for (const e of r.environments) {
          const state = [e.autoPromotionPaused ? 'paused' : '', e.protected ? 'protected' : '', e.freeze?.current ? 'frozen' : ''].filter(Boolean).join(',');
          const gates = e.gates.marks || 'none';
          const last = e.lastPromotion;
          const runs = e.artifacts.length ? e.artifacts : [null];
          runs.forEach((a, i) => {
            const version = a ? `${names.size > 1 ? `${a.artifact} ${a.tag}` : a.tag}${a.bundle ? ` (bundle ${a.bundle.name})` : ''}` : '-';
            rows.push([
              i ? '' : e.name,
              version,
              when(a ? a.promotedAt : last?.completedAt),
              // What a rollback put back names the rollback, not the engine that wrote it (as the console's card does).
              (a ? (a.restored ? `restored by rollback ${a.restored.promotionId}` : a.promotedBy) : last?.requestedBy) ?? '-',
              i ? '' : gates,
              i ? '' : `${e.config.snapshot}${e.config.restored ? ' (restored)' : ''}`,
              i ? '' : state,
            ]);
          });
        }
        grid(['Environment', 'Version', 'Promoted At', 'Promoted By', 'Gates', 'Config', 'State'], rows);
        console.log('');
        console.log(`Gates: ${r.environments[0]?.gates.legend.split(',').join(' ') ?? ''} (✓ pass, ✗ fail, ! warn, - off)`);
        // What a rollback put back, when and by which rollback, and why: a restored environment does not look like a deployment.
        const restored = r.environments.flatMap((e) => [
          ...(e.config.restored
            ? [
                `↺ ${e.name}: config ${e.config.snapshot} restored ${when(e.config.changedAt)} by rollback ${e.config.restored.promotionId} — ${e.config.restored.reason}`,
              ]
            : []),
          ...e.artifacts
            .filter((a) => a.restored)
            .map(
              (a) => `↺ ${e.name}: ${a.artifact} ${a.version} restored ${when(a.promotedAt)} by rollback ${a.restored!.promotionId} — ${a.restored!.reason}`,
            ),
        ]);
        if (restored.length) {
          console.log('');
          console.log('Restored:');
          for (const line of restored) console.log(line);
        }
        // What went wrong last, where it did: a failure or a rollback is not hidden behind the version that still runs.
        const troubled = r.environments.filter((e) => e.lastOutcome && e.lastOutcome.status !== 'COMPLETED');
        if (troubled.length) {
          console.log('');
          console.log('Last Outcomes:');
          for (const e of troubled)
            console.log(
              `! ${e.name}: ${e.lastOutcome!.subject} ${e.lastOutcome!.status} at ${when(e.lastOutcome!.at)}${e.lastOutcome!.reason ? ` — ${e.lastOutcome!.reason}` : ''}  ${e.lastOutcome!.id}`,
            );
        }
        console.log('');
        console.log(`Pending Promotions:${r.pending.length ? '' : ' none'}`);
        for (const p of r.pending) console.log(`- ${p.subject} ${p.from === p.to ? `rollback of ${p.to}` : `${p.from} → ${p.to}`} (${p.why})  ${p.id}`);
      });
    });
}

/** rollback to an artifact version or a snapshot, with its impact */
export function registerRollback(program: Command): void {
  waitOptions(
    program
      .command('rollback')
      .description(
        'roll an environment back to an artifact version or a snapshot, or undo a promotion (--promotion); the impact first, --dry-run prints only it',
      )
      .argument('[version]', 'the artifact version to go back to (with --artifact)')
      .option('--env <env>', 'environment (not with --promotion)')
      .option('--promotion <id>', 'undo what this completed promotion changed')
      .option('-y, --yes', 'do not ask to confirm (a terminal asks after showing the impact)')
      .option('--artifact <name>', 'artifact')
      .addOption(new Option('--snapshot <seq>', 'config snapshot to go back to').argParser(int('--snapshot')))
      .option('--dry-run', 'impact analysis only')
      .option('--reason <text>', 'why')
      .option('--override', 'go ahead although the impact analysis advises against it')
      .addOption(new Option('--when-frozen <mode>', 'inside a freeze window: wait for it to end (held, then run), or fail').choices(['wait', 'fail'])),
  ).action(async (version: string | undefined) => {
    if (values.promotion) return rollbackPromotion(values.promotion);
    if (!values.env) fail('say what to roll back: --env <env> with a version or --snapshot, or --promotion <id>');
    const whenFrozen = values['when-frozen'];
    const opts = {
      dryRun: values['dry-run'] ?? false,
      ...(values.reason ? { reason: values.reason } : {}),
      override: values.override ?? false,
      ...(whenFrozen ? { whenFrozen } : {}),
    };
    let body: Record<string, unknown>;
    if (values.snapshot !== undefined) {
      if (values.snapshot < 1) fail('--snapshot must be a snapshot number (see: stageline snapshots --env <env>)');
      body = { snapshot: values.snapshot, ...opts };
    } else {
      if (!version) fail('usage: rollback <version> --env <env> [--artifact <name>], or rollback --snapshot <seq> --env <env>');
      body = { artifact: values.artifact ?? (await inferArtifact(values.env!)), version, ...opts };
    }
    const r = await api<EnvironmentRollback>('POST', `/api/v1/environments/${q(values.env!)}/rollback`, body);
    if (r.dryRun) {
      out(r, () => {
        for (const l of impactLines(r.impact)) console.log(l);
        console.log('Nothing was changed (dry run).');
      });
      return;
    }
    if (!values.json) for (const l of impactLines(r.impact)) console.log(l);
    await settle(r.promotion, (promotion) => ({ ...r, promotion }));
  });
}

/** rollback --promotion <id>: the impact analysis first, then (a terminal asks) the rollback, through POST /promotions/{id}/rollback. */
async function rollbackPromotion(id: string): Promise<void> {
  if (values.env || values.snapshot !== undefined || values.artifact) fail('--promotion names what to undo: leave out --env, --snapshot and --artifact');
  const reason = values.reason ?? fail('--promotion needs --reason <text> (kept in the audit trail)');
  const whenFrozen = values['when-frozen'];
  const body = { reason, override: values.override ?? false, ...(whenFrozen ? { whenFrozen } : {}) };
  const preview = await api<PromotionRollbackPreview>('POST', `/api/v1/promotions/${q(id)}/rollback`, { ...body, dryRun: true });
  // Both kinds go back through the environment rollback (impact analysis, the approval policy, the flow); a config
  // promotion's keys are refused with 409 if they changed since.
  const lines = preview.impact ? impactLines(preview.impact) : impactLines({ environment: preview.targetEnvironment, reverts: preview.reverts }).slice(0, 1);
  if (values['dry-run']) {
    return out(preview, () => {
      for (const l of lines) console.log(l);
      console.log('Nothing was changed (dry run).');
    });
  }
  if (!values.json) for (const l of lines) console.log(l);
  await confirm(`Roll back what ${id} changed?`);
  const r = await api<PromotionRollback>('POST', `/api/v1/promotions/${q(id)}/rollback`, body);
  // The answer is the rollback's own record (the promotion is marked ROLLED_BACK when it completes).
  await settle(r.promotion, (promotion) => ({ ...r, promotion }));
}
