import { Command, Option } from 'commander';
import { values, q, int } from '../context.ts';
import type { AppKey, AppKeyList, AppKeyWithSecret } from '../answers.ts';
import { api } from '../http.ts';
import { table, out } from '../output.ts';

/** app keys: read-only credentials of running services */
export function registerAppKeys(program: Command): void {
  const keysCmd = program.command('keys').description('app keys: read-only credentials a service uses to read its environment (effective config, OFREP)');
  keysCmd
    .command('list')
    .description('app keys of the tenant (never their secrets)')
    .option('--env <env>', 'only keys of this environment')
    .action(async () => {
      const r = await api<AppKeyList>('GET', `/api/v1/app-keys${values.env ? `?environment=${q(values.env)}` : ''}`);
      out(r, () =>
        table(
          r.items.map((k) => ({ ...k, prefix: k.prefix ?? '', target: k.target ?? '', lastUsedAt: k.lastUsedAt ?? 'never' })),
          ['id', 'name', 'environment', 'target', 'prefix', 'status', 'lastUsedAt', 'createdBy'],
        ),
      );
    });
  keysCmd
    .command('create')
    .description('create a key for one environment; it is printed once (keep it in your secret store)')
    .requiredOption('--env <env>', 'the environment it reads')
    .requiredOption('--name <name>', 'what it is for (e.g. the service)')
    .option('--prefix <prefix>', 'read only configs and flags whose key starts with this')
    .option(
      '--target <target>',
      "read as this target of the environment (its version during a rollout, and its parameters); only such a key reports the target's instances to a fleet confirmation",
    )
    .action(async () => {
      const r = await api<AppKeyWithSecret>('POST', '/api/v1/app-keys', {
        name: values.name,
        environment: values.env,
        ...(values.prefix ? { prefix: values.prefix } : {}),
        ...(values.target ? { target: values.target } : {}),
      });
      out(r, () => {
        console.error(
          `app key ${r.id} for ${r.environment}${r.target ? ` target ${r.target}` : ''}${r.prefix ? ` (keys under ${r.prefix})` : ''}; shown this once:`,
        );
        console.log(r.key);
      });
    });
  keysCmd
    .command('rotate')
    .description('a new secret for the key (printed once); the previous one keeps working for --overlap seconds')
    .argument('<id>')
    .addOption(new Option('--overlap <seconds>', 'how long the previous secret keeps working').argParser(int('--overlap')).default(86400))
    .action(async (id: string) => {
      const r = await api<AppKeyWithSecret>('POST', `/api/v1/app-keys/${q(id)}/rotate`, { overlapSeconds: values.overlap });
      out(r, () => {
        console.error(
          `app key ${r.id} rotated; the previous secret works until ${r.previousSecretValidUntil ?? 'now (no overlap)'}; the new key, shown this once:`,
        );
        console.log(r.key);
      });
    });
  keysCmd
    .command('revoke')
    .description('revoke a key (refused from the next request on)')
    .argument('<id>')
    .action(async (id: string) => {
      const r = await api<AppKey>('DELETE', `/api/v1/app-keys/${q(id)}`);
      out(r, () => console.log(`app key ${r.id} revoked at ${r.revokedAt}`));
    });
}
