import { Command, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { values } from '../context.ts';
import type { ManifestApply, ManifestPlan } from '../answers.ts';
import { addPage } from '../../domain/manifest/simulation-pages.ts';
import { api, apiText } from '../http.ts';
import { grid, label, out, show, when } from '../output.ts';

/** The plan replayed over the promotions of a look-back: the promotions it would have decided differently, and the counts. */
function simulation(s: NonNullable<ManifestPlan['simulation']>): void {
  const pair = <T>(v: { old: T; new: T }, f: (x: T) => string = String) => (v.old === v.new ? f(v.old) : `${f(v.old)} → ${f(v.new)}`);
  const short = (d: string | null) => (d ? d.slice(7, 19) : '-');
  const held = (o: { reason: string } | null) => (o ? o.reason : '-');
  console.log(`\nSimulation over ${s.promotions} promotions requested ${when(s.since)} – ${when(s.until)} UTC:`);
  if (s.changes.length)
    grid(
      ['Promotion', 'Subject', 'Route', 'Outcome', 'Approvals', 'Freeze window', 'Decision digest'],
      s.changes.map((c) => [
        c.id,
        label(c.subject),
        `${c.sourceEnvironment} → ${c.targetEnvironment}`,
        pair(c.outcome),
        pair(c.approvalsRequired),
        c.heldByWindow.old?.id === c.heldByWindow.new?.id ? held(c.heldByWindow.new) : `${held(c.heldByWindow.old)} → ${held(c.heldByWindow.new)}`,
        `${short(c.decisionDigest.old)} → ${short(c.decisionDigest.new)}`,
      ]),
    );
  const notes = s.changes.flatMap((c) => [
    ...(c.refused ? [`${c.id}: refused at request: ${c.refused}`] : []),
    ...(c.signatureRequired.old !== c.signatureRequired.new
      ? [`${c.id}: signature_match ${c.signatureRequired.new ? 'required' : 'no longer required'} (not verified here)`]
      : []),
    ...(c.notReplayed ? [`${c.id}: not replayed (only their provider answers): ${c.notReplayed.join(', ')}`] : []),
  ]);
  for (const n of notes) console.log(n);
  const m = s.summary;
  console.log(
    `\n${m.changed} of ${s.promotions} would have been decided differently: ${m.allowedToBlocked} allowed → not allowed, ${m.blockedToAllowed} not allowed → allowed, ` +
      `${m.approvalsChanged} with other approvals, ${m.newlyHeldByWindow} held by a freeze window; ${m.digestsReproduced} decision digests reproduced.`,
  );
  if (s.rollbacksSkipped) console.log(`${s.rollbacksSkipped} rollbacks were not replayed (their impact analysis decides them).`);
  if (!s.coversLookBack)
    console.log(
      s.reachedBack
        ? `History goes back only to ${s.reachedBack}: no older promotion is stored, so the replay covers from then on.`
        : 'No promotion is stored in the look-back: nothing to replay.',
    );
  if (s.changesTruncated) console.log(`More promotions changed than are listed: the newest ${s.changes.length} are.`);
}

/** policy as code: plan, apply and export a manifest */
export function registerManifest(program: Command): void {
  const planOrApply = async (apply: boolean) => {
    const document = readFileSync(values.file!, 'utf8');
    const perRequest = values['per-request'] ? `&limit=${encodeURIComponent(values['per-request'])}` : '';
    const simulate = !apply && values.simulate ? `?simulate=${encodeURIComponent(values.simulate)}${perRequest}` : '';
    const plan = await api<ManifestPlan>('POST', `/api/v1/manifest/plan${simulate}`, { document });
    // A long history is replayed a page of requests at a time: follow `next`, saying how far back it has come.
    while (plan.simulation?.next) {
      process.stderr.write(`replayed ${plan.simulation.promotions} promotions, back to ${plan.simulation.reachedBack} …\n`);
      const more = await api<ManifestPlan>('POST', `/api/v1/manifest/plan${simulate}&cursor=${encodeURIComponent(plan.simulation.next)}`, { document });
      plan.simulation = addPage(plan.simulation, more.simulation!);
    }
    const show = (v: unknown) => JSON.stringify(v);
    const lines = plan.changes.map((c) =>
      c.op === 'add'
        ? `+ ${c.path} = ${show(c.after)}`
        : c.op === 'remove'
          ? `- ${c.path} (was ${show(c.before)})`
          : `~ ${c.path}: ${show(c.before)} → ${show(c.after)}`,
    );
    if (!apply || !lines.length) {
      out(plan, () => {
        console.log(
          lines.length
            ? `${lines.join('\n')}\n\nPlan: ${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.remove} to remove (against ${plan.digest}).`
            : 'No changes: the setup matches the manifest.',
        );
        if (plan.simulation) simulation(plan.simulation);
      });
      return;
    }
    const r = await api<ManifestApply>('POST', '/api/v1/manifest/apply', { document, expectedDigest: plan.digest });
    out(r, () => {
      console.log(`${lines.join('\n')}\n\nApplied: ${r.summary.add} added, ${r.summary.change} changed, ${r.summary.remove} removed (now ${r.digest}).`);
      // A subscription or link the apply created has a secret of its own: shown this once, never again.
      const secrets = r.secrets;
      if (!secrets) return;
      console.log('\nNew secrets, shown only now (store them where the receiver or registry reads them):');
      for (const w of secrets.webhooks) console.log(`  webhook ${w.id} ${w.url}: signing secret ${w.secret}`);
      for (const l of secrets.registry_links)
        console.log(`  registry link ${l.artifact}/${l.id} (${l.registry}/${l.repository}): notification token ${l.notifyToken}`);
    });
  };
  program
    .command('plan')
    .description('what applying a manifest would change (field by field)')
    .requiredOption('-f, --file <manifest.yaml>', 'the manifest (YAML or JSON)')
    .option(
      '--simulate <lookback>',
      'also replay the promotions of this look-back under the manifest (7d, 90d, 24h; at most 365d): what it would have decided differently',
    )
    .option('--per-request <n>', 'with --simulate: promotions replayed per request (default 10,000); the CLI follows each answer’s next, showing progress')
    .action(() => planOrApply(false));
  program
    .command('apply')
    .description('plan, then apply the manifest as one audited change (admin; refused if the setup moved since the plan)')
    .requiredOption('-f, --file <manifest.yaml>', 'the manifest (YAML or JSON)')
    .action(() => planOrApply(true));
  program
    .command('export')
    .description('the tenant’s setup as a manifest (export | apply changes nothing)')
    .option('-o, --output <file>', 'write it to a file')
    .addOption(new Option('--format <format>', 'document format').choices(['yaml', 'json']).default('yaml'))
    .action(async () => {
      const { text, headers } = await apiText(`/api/v1/manifest?format=${values.format}`);
      if (values.output) {
        writeFileSync(values.output, text);
        console.error(`wrote ${values.output} (digest ${headers.get('x-manifest-digest')})`);
      } else show(text);
    });
}
