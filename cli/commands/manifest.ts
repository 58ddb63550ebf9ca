import { Command, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { values } from '../context.ts';
import type { ManifestApply, ManifestPlan } from '../answers.ts';
import { api, apiText } from '../http.ts';
import { out, show } from '../output.ts';

/** policy as code: plan, apply and export a manifest */
export function registerManifest(program: Command): void {
  const planOrApply = async (apply: boolean) => {
    const document = readFileSync(values.file!, 'utf8');
    const plan = await api<ManifestPlan>('POST', '/api/v1/manifest/plan', { document });
    const show = (v: unknown) => JSON.stringify(v);
    const lines = plan.changes.map((c) =>
      c.op === 'add'
        ? `+ ${c.path} = ${show(c.after)}`
        : c.op === 'remove'
          ? `- ${c.path} (was ${show(c.before)})`
          : `~ ${c.path}: ${show(c.before)} → ${show(c.after)}`,
    );
    if (!apply || !lines.length) {
      out(plan, () =>
        console.log(
          lines.length
            ? `${lines.join('\n')}\n\nPlan: ${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.remove} to remove (against ${plan.digest}).`
            : 'No changes: the setup matches the manifest.',
        ),
      );
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
