import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fail, int, q, values } from '../context.ts';
import type { Changes, Evidence, Promotion, PromotionDetail, PromotionExecute, PromotionList, PromotionsPlan, TargetConfirm } from '../answers.ts';
import { api } from '../http.ts';
import { grid, label, out, when } from '../output.ts';
import { changeLines, confirm, describe, nextStep, printed, settle, waitOptions } from '../promotion-view.ts';
import { rolloutTargetLines, withTargetPages } from '../rollout-targets.ts';

/**
 * Everything a promotion goes through after it is requested, each through the same API route the
 * console and curl use: list, show (what it changes, gates, approvals, why it waits), watch,
 * evidence, validate, approve/reject (the diff first; a terminal asks to confirm), execute,
 * schedule, cancel, rebase and roll back by id (`rollback --promotion`, in promotions.ts).
 */
export function registerPromotions(program: Command): void {
  const promotions = program.command('promotions').description('list, show and watch promotions');
  promotions
    .command('list')
    .description('promotions, newest first')
    .option('--status <status>', 'pending, approved, rejected, completed, failed, or a status (AWAITING_APPROVAL, …)')
    .option('--from <env>', 'source environment')
    .option('--to <env>', 'target environment')
    .addOption(new Option('--limit <n>', 'how many').argParser(int('--limit')).default(20))
    .action(async () => {
      const query = new URLSearchParams();
      if (values.status) query.set('status', values.status);
      if (values.from) query.set('source', values.from);
      if (values.to) query.set('target', values.to);
      query.set('limit', String(values.limit ?? 20));
      const r = await api<PromotionList>('GET', `/api/v1/promotions?${query}`);
      out(r, () => {
        if (!r.items.length) return console.log('No promotions.');
        grid(
          ['Id', 'What', 'Route', 'Status', 'Requested', 'By'],
          r.items.map((p) => [
            p.id,
            label(p.subject),
            p.sourceEnvironment === p.targetEnvironment ? `rollback of ${p.targetEnvironment}` : `${p.sourceEnvironment} → ${p.targetEnvironment}`,
            p.status + (p.waitingFor ? ` (${p.waitingFor})` : ''),
            when(p.requestedAt),
            p.requestedBy.name,
          ]),
        );
      });
    });
  const show = async (id: string, o: { targets?: boolean; state?: string; wave?: number; name?: string; limit?: number; cursor?: string } = {}) => {
    if (o.targets) {
      // A page of the rollout's targets, one line each (a fleet's rollout is said wave by wave otherwise).
      const p = await api<PromotionDetail>('GET', `/api/v1/promotions/${q(id)}`);
      const lines = await rolloutTargetLines(id, p, { state: o.state, wave: o.wave, name: o.name, limit: o.limit ?? 50, cursor: o.cursor });
      out({ id, targets: lines }, () => {
        for (const l of lines) console.log(l);
      });
      return;
    }
    const [p, changes] = await Promise.all([
      api<PromotionDetail>('GET', `/api/v1/promotions/${q(id)}`),
      api<Changes>('GET', `/api/v1/promotions/${q(id)}/changes`),
    ]);
    out({ ...p, changes }, () => {
      describe(p);
      for (const l of changeLines(changes)) console.log(`  ${l}`);
      nextStep(p);
    });
  };
  for (const cmd of [
    promotions.command('show').description('one promotion: what it changes, gates, approvals, why it waits, the outcome; a rollout wave by wave'),
    program.command('status').description('one promotion (= promotions show)'),
  ])
    withTargetPages(cmd.argument('<promotion-id>')).action(show);
  promotions
    .command('watch')
    .description('follow a promotion until it ends or waits for a person (live progress on a terminal)')
    .argument('<promotion-id>')
    .addOption(new Option('--timeout <seconds>', 'how long to follow it').argParser(int('--timeout')).default(600))
    .action(async (id: string) => {
      values.wait = true;
      await settle({ id });
    });

  program
    .command('changes')
    .description('what a promotion moves: the key-by-key diff, or the artifact version and digest')
    .argument('<promotion-id>')
    .action(async (id: string) => {
      const c = await api<Changes>('GET', `/api/v1/promotions/${q(id)}/changes`);
      out(c, () => {
        for (const l of changeLines(c)) console.log(l);
      });
    });

  program
    .command('evidence')
    .description(
      "attach evidence to a promotion (what its gates read), or with --artifact to an artifact version (a bundle's gates read each member's): test results, a security scan, …",
    )
    .argument('[promotion-id]')
    .option(
      '--artifact <name@version>',
      "an artifact version instead of a promotion (every promotion of it reads it, and a bundle's gates judge each member by its own)",
    )
    .addOption(
      new Option('--type <type>', 'evidence type')
        .choices(['test_results', 'security_scan', 'cost_estimate', 'benchmark', 'policy', 'metrics'])
        .makeOptionMandatory(),
    )
    .requiredOption('--payload <json|@file>', `the payload as JSON, or @file to read it, e.g. '{"passed":412,"failed":0}'`)
    .action(async (id: string | undefined) => {
      const artifact = values.artifact ? /^([^@\s]+)@([^@\s]+)$/.exec(values.artifact) : null;
      if (values.artifact && !artifact) fail(`--artifact wants name@version, e.g. api@v2.0.0 (got '${values.artifact}')`);
      if (!id === !artifact) fail('name a promotion id, or an artifact version with --artifact name@version (one of the two)');
      const raw = values.payload!.startsWith('@') ? readFileSync(values.payload!.slice(1), 'utf8') : values.payload!;
      let payload: unknown;
      try {
        payload = JSON.parse(raw);
      } catch (e) {
        fail(`--payload is not JSON: ${(e as Error).message}`);
      }
      const path = artifact ? `/api/v1/artifacts/${q(artifact[1]!)}/versions/${q(artifact[2]!)}/evidence` : `/api/v1/promotions/${q(id!)}/evidence`;
      const r = await api<Evidence>('POST', path, { type: values.type, payload });
      out(r, () =>
        console.log(`${r.id}: ${r.type} attached to ${id ?? values.artifact}${r.releaseDigest ? ` (release ${r.releaseDigest.slice(7, 19)})` : ''}`),
      );
    });

  waitOptions(program.command('validate').description('run the gates of a promotion created with autoStart=false').argument('<promotion-id>')).action(
    async (id: string) => settle(await api<Promotion>('POST', `/api/v1/promotions/${q(id)}/validate`)),
  );

  program
    .command('approve')
    .description('approve a promotion waiting for approval (shows what it changes first)')
    .argument('<promotion-id>')
    .option('--comment <text>', 'a comment kept with the approval')
    .option('-y, --yes', 'do not ask to confirm')
    .action(async (id: string) => {
      await reviewFirst(id, 'Approve');
      printed(await api<PromotionDetail>('POST', `/api/v1/promotions/${q(id)}/approve`, values.comment ? { comment: values.comment } : {}));
    });
  program
    .command('reject')
    .description('reject a promotion waiting for approval')
    .argument('<promotion-id>')
    .requiredOption('--reason <text>', 'why')
    .option('-y, --yes', 'do not ask to confirm')
    .action(async (id: string) => {
      await reviewFirst(id, 'Reject');
      printed(await api<Promotion>('POST', `/api/v1/promotions/${q(id)}/reject`, { reason: values.reason }));
    });

  waitOptions(
    program
      .command('execute')
      .description('execute an approved manual promotion now (--dry-run: what it would do)')
      .argument('<promotion-id>')
      .option('--dry-run', 'what it would do; change nothing'),
  ).action(async (id: string) => {
    const r = await api<PromotionExecute>('POST', `/api/v1/promotions/${q(id)}/execute`, { dryRun: values['dry-run'] ?? false });
    if ('dryRun' in r) return out(r, () => console.log(`Dry run of ${id}: ${JSON.stringify(r.plan ?? r, null, 2)}\nNothing was changed (dry run).`));
    await settle(r.promotion, (promotion) => ({ ...r, promotion }));
  });

  program
    .command('schedule')
    .description('execute an approved manual promotion at a time')
    .argument('<promotion-id>')
    .requiredOption('--at <time>', 'ISO-8601 date-time in the future, e.g. 2026-12-01T09:00:00Z')
    .action(async (id: string) => {
      const r = await api<Promotion>('POST', `/api/v1/promotions/${q(id)}/schedule`, { at: values.at });
      out(r, () => console.log(`${r.id}: ${r.status} for ${when(r.scheduledAt)} UTC`));
    });

  program
    .command('cancel')
    .description('cancel a promotion before it executes')
    .argument('<promotion-id>')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .action(async (id: string) => printed(await api<Promotion>('DELETE', `/api/v1/promotions/${q(id)}${values.reason ? `?reason=${q(values.reason)}` : ''}`)));

  // A rollout through an environment's targets: halt before the next wave, resume, confirm a target (callback confirmation).
  for (const verb of ['halt', 'resume'] as const)
    program
      .command(verb)
      .description(verb === 'halt' ? 'halt a rollout before its next wave (what is done stays)' : 'resume a halted rollout: its next wave starts')
      .argument('<promotion-id>')
      .option('--reason <text>', 'why (kept in the audit trail)')
      .action(async (id: string) => {
        const r = await api<PromotionDetail>('POST', `/api/v1/promotions/${q(id)}/${verb}`, values.reason ? { reason: values.reason } : {});
        out(r, () => describe(r));
      });
  program
    .command('confirm')
    .description("confirm that a target of a rollout runs the release (its deployer's callback): its bake starts")
    .argument('<promotion-id>')
    .argument('<target>')
    .option('--reason <text>', 'what was checked (kept in the audit trail)')
    .action(async (id: string, target: string) => {
      const r = await api<TargetConfirm>('POST', `/api/v1/promotions/${q(id)}/targets/${q(target)}/confirm`, values.reason ? { note: values.reason } : {});
      out(r, () => console.log(`Confirmed ${target} of ${id} as ${r.confirmedBy} at ${when(r.confirmedAt)}: it bakes now.`));
    });

  promotions
    .command('plan')
    .description('the safe order of pending promotions: each after those that re-pin the consumers it would break; what no order can run, and why')
    .argument('[promotion-ids...]', 'the promotions to order (or --to)')
    .option('--to <env>', 'every promotion into this environment not yet executing')
    .action(async (ids: string[]) => {
      if (!ids.length === !values.to) fail('give promotion ids or --to <env> (one of them)');
      const query = ids.length ? `ids=${ids.map(q).join(',')}` : `environment=${q(values.to!)}`;
      const r = await api<PromotionsPlan>('GET', `/api/v1/promotions/plan?${query}`);
      out(r, () => {
        if (!r.order.length && !r.blocked.length) return console.log('Nothing pending.');
        r.order.forEach((s, i) =>
          console.log(`${i + 1}. ${s.subject} → ${s.targetEnvironment}  ${s.id}${s.after.length ? `  (after ${s.after.join(', ')})` : ''}`),
        );
        if (r.blocked.length) {
          console.log('');
          console.log('Blocked:');
          for (const b of r.blocked) console.log(`✗ ${b.id} (${b.kind}): ${b.message}`);
        }
      });
    });

  program
    .command('rebase')
    .description(
      "move a promotion waiting for approval onto its source's current snapshot (config) or the newest bundle of its name (a bundle); its approvals start over",
    )
    .argument('<promotion-id>')
    .action(async (id: string) => printed(await api<Promotion>('POST', `/api/v1/promotions/${q(id)}/rebase`)));
}

/**
 * Before approving or rejecting: the promotion and what it changes (with --yes too: it skips the
 * question, not the review), and on a terminal without --yes a question. --json prints only the answer.
 */
async function reviewFirst(id: string, verb: 'Approve' | 'Reject'): Promise<void> {
  if (values.json) return;
  const [p, changes] = await Promise.all([
    api<PromotionDetail>('GET', `/api/v1/promotions/${q(id)}`),
    api<Changes>('GET', `/api/v1/promotions/${q(id)}/changes`),
  ]);
  describe(p);
  for (const l of changeLines(changes)) console.log(`  ${l}`);
  await confirm(`${verb} ${id}?`);
}
