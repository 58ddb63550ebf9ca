import type { Command } from 'commander';
import { values, fail, q } from '../context.ts';
import type { Bundle, Bundles, BundleVersions } from '../answers.ts';
import { api } from '../http.ts';
import { grid, when, out } from '../output.ts';

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
const membersOf = (b: Bundle) =>
  [...b.members.map((m) => `${m.name}@${m.version}`), ...(b.config ? [`config ${b.config.environment}@${b.config.seq}`] : [])].join(', ');

/** bundles: several artifact versions (and a configuration snapshot) promoted as one unit */
export function registerBundles(program: Command): void {
  const bundles = program.command('bundles').description('release bundles: several artifacts (and config) promoted as one unit (promote --bundle)');
  bundles
    .command('create')
    .description('create a bundle from what an environment runs (--from), or from versions listed by hand (--member)')
    .requiredOption('--name <name>', 'the bundle name (e.g. checkout)')
    .option('--from <env>', 'take every artifact the environment runs (or those of --artifact)')
    .option('--only <names...>', 'with --from: only these artifacts')
    .option('--member <name@version...>', 'without --from: each artifact version, e.g. api@v3.0.0')
    .option('--config', 'add the configuration snapshot of --from (or of --config-env)')
    .option('--config-env <env>', 'take the configuration from this environment')
    .option('--key-pattern <globs...>', 'with --config: only the keys matching these globs')
    .option('--notes <text>', 'what this bundle is')
    .action(async () => {
      if (values.from && values.member) fail('give --from or --member, not both');
      const members = (values.member ?? []).map((m) => {
        const at = m.lastIndexOf('@');
        if (at <= 0) fail(`--member ${m}: write name@version, e.g. api@v3.0.0`);
        return { name: m.slice(0, at), version: m.slice(at + 1) };
      });
      const wantsConfig = values.config || values['config-env'] || values['key-pattern'];
      const body = {
        name: values.name,
        ...(values.from ? { from: values.from } : {}),
        ...(values.only ? { artifacts: values.only } : {}),
        ...(members.length ? { members } : {}),
        ...(wantsConfig
          ? {
              config: {
                ...(values['config-env'] ? { environment: values['config-env'] } : {}),
                ...(values['key-pattern'] ? { keyPatterns: values['key-pattern'] } : {}),
              },
            }
          : {}),
        ...(values.notes ? { notes: values.notes } : {}),
      };
      const r = await api<Bundle>('POST', '/api/v1/bundles', body);
      out(r, () => {
        console.log(`bundle ${r.name} ${r.digest}`);
        console.log(`  ${membersOf(r)}`);
        console.log(`promote it: stageline promote --bundle ${r.name} --to <env>`);
      });
    });
  bundles
    .command('list')
    .description('bundles, newest first')
    .option('--name <name>', 'one bundle')
    .action(async () => {
      const r = await api<Bundles>('GET', `/api/v1/bundles${values.name ? `?name=${q(values.name)}` : ''}`);
      out(r, () =>
        grid(
          ['Name', 'Digest', 'Members', 'From', 'Created'],
          r.bundles.map((b) => [b.name, short(b.digest), membersOf(b), b.from ?? '-', `${when(b.createdAt)} ${b.createdBy}`]),
        ),
      );
    });
  bundles
    .command('show')
    .description('a bundle: its versions, and which one each environment runs')
    .argument('<name>', 'the bundle')
    .action(async (name: string) => {
      const r = await api<BundleVersions>('GET', `/api/v1/bundles/${q(name)}`);
      out(r, () => {
        console.log(`bundle ${r.name}: newest ${r.latest.digest}`);
        for (const m of r.latest.members) console.log(`  ${m.name} ${m.version} ${m.digest}`);
        if (r.latest.config)
          console.log(
            `  config ${r.latest.config.environment}@${r.latest.config.seq}${r.latest.config.keyPatterns.length ? ` (${r.latest.config.keyPatterns.join(', ')})` : ''}`,
          );
        console.log('');
        grid(
          ['Environment', 'Runs'],
          r.environments.map((e) => [e.environment, e.digest ? `${short(e.digest)}${e.digest === r.latest.digest ? ' (newest)' : ''}` : '-']),
        );
      });
    });
}
