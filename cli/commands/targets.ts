import { Command, Option } from 'commander';
import { values, q, int } from '../context.ts';
import type { DeploymentList, Effective, EnvironmentTargets } from '../answers.ts';
import { api } from '../http.ts';
import { table, out } from '../output.ts';

/** Reads by target: where each target of an environment is, what one target reads, and the deployment history (of a target). */
export function registerTargetReads(program: Command): void {
  program
    .command('targets')
    .description("an environment's targets wave by wave, with the config snapshot and artifact versions each runs (* = its own, ahead of the environment)")
    .requiredOption('--env <env>', 'environment')
    .action(async () => {
      const r = await api<EnvironmentTargets>('GET', `/api/v1/environments/${q(values.env!)}/targets`);
      out(r, () =>
        table(
          r.waves.flatMap((w) =>
            w.targets.map((t) => ({
              wave: `${w.wave}${w.pause ? ' (pauses first)' : ''}`,
              target: t.name,
              config: `#${t.config.seq}${t.config.own ? '*' : ''}`,
              artifacts: t.artifacts.map((a) => `${a.name}@${a.version}${a.own ? '*' : ''}`).join(' '),
            })),
          ),
          ['wave', 'target', 'config', 'artifacts'],
        ),
      );
    });
  program
    .command('effective')
    .description('the configs and flags the environment serves (as one target of it reads them with --target)')
    .requiredOption('--env <env>', 'environment')
    .option('--target <target>', 'read as this target: its version during a rollout, with its parameters')
    .option('--prefix <prefix>', 'only keys starting with this')
    .action(async () => {
      const query = new URLSearchParams({ ...(values.target ? { target: values.target } : {}), ...(values.prefix ? { prefix: values.prefix } : {}) });
      const r = await api<Effective>('GET', `/api/v1/environments/${q(values.env!)}/effective${query.size ? `?${query}` : ''}`);
      out(r, () => {
        console.log(`${r.environment}${r.target ? ` target ${r.target}` : ''} @ snapshot ${r.snapshot.seq} (${r.snapshot.digest})`);
        table(
          [
            ...Object.entries(r.configs).map(([key, value]) => ({ kind: 'config', key, value: JSON.stringify(value) })),
            ...Object.entries(r.flags).map(([key, value]) => ({ kind: 'flag', key, value: JSON.stringify(value) })),
          ],
          ['kind', 'key', 'value'],
        );
      });
    });
  program
    .command('history')
    .description('deployment history of an environment, newest first (of one target with --target)')
    .requiredOption('--env <env>', 'environment')
    .option('--target <target>', 'only the records of this target')
    .addOption(new Option('--limit <n>', 'how many').argParser(int('--limit')).default(20))
    .action(async () => {
      const target = values.target ? `&target=${q(values.target)}` : '';
      const r = await api<DeploymentList>('GET', `/api/v1/platform/deployments/history?environment=${q(values.env!)}${target}&limit=${values.limit}`);
      out(r, () =>
        table(
          r.map((d) => ({ ...d, target: d.target ?? '' })),
          ['deployedAt', 'target', 'imageTag', 'status', 'deployedBy', 'id'],
        ),
      );
    });
}
