import type { Command } from 'commander';
import { values, fail, q } from '../context.ts';
import type { ArtifactVersions, EnvironmentVersions, Published, RegistryLinkCreated, RegistryLinks, Status } from '../answers.ts';
import { api } from '../http.ts';
import { grid, table, when, out } from '../output.ts';

/** publish: a version into the first environment */
export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('publish a version into the first environment (creates <version>-dev, latest-dev)')
    .requiredOption('--artifact <name>', 'artifact')
    .requiredOption('--version <v1.2.3>', 'semantic version')
    .requiredOption('--digest <sha256:…>', 'content digest')
    .option('--commit <sha>', 'source commit')
    .option('--branch <name>', 'git branch')
    .option('--committed-at <time>', 'when the change was committed or built (ISO-8601): lead time counts from it')
    .action(async () => {
      const artifact = values.artifact!;
      const body = {
        version: values.version,
        digest: values.digest,
        ...(values.commit ? { sourceCommit: values.commit } : {}),
        ...(values.committedAt ? { committedAt: values.committedAt } : {}),
        ...(values.branch ? { gitBranch: values.branch } : {}),
      };
      const r = await api<Published>('POST', `/api/v1/artifacts/${q(artifact)}/versions`, body);
      out(r, () =>
        console.log(
          `${artifact}@${r.artifact.version} published into ${r.environment}${r.created ? '' : ' (already there, same digest)'}: ${r.artifact.version}-${r.environment}, latest-${r.environment} → ${r.artifact.digest}`,
        ),
      );
    });
}

/** list: the versions that entered an environment, or every published version of an artifact */
export function registerVersions(program: Command): void {
  program
    .command('list')
    .description('versions that entered an environment (* = current), or every published version of an artifact')
    .option('--env <env>', 'environment')
    .option('--artifact <name>', 'artifact (required without --env)')
    .action(async () => {
      if (!values.env) {
        if (!values.artifact) fail('list needs --env <env> or --artifact <name>');
        const r = await api<ArtifactVersions>('GET', `/api/v1/artifacts/${q(values.artifact)}/versions`);
        out(r, () =>
          table(
            r.versions.map((v) => ({ ...v, publishedAt: when(v.publishedAt) })),
            ['version', 'digest', 'sourceCommit', 'publishedBy', 'publishedAt'],
          ),
        );
        return;
      }
      let names = values.artifact ? [values.artifact] : [];
      if (!names.length) {
        const s = await api<Status>('GET', `/api/v1/status?env=${q(values.env)}`);
        names = s.environments[0]?.artifacts.map((a) => a.artifact) ?? [];
        if (!names.length) fail(`'${values.env}' runs no artifacts; give --artifact <name>`);
      }
      const all: EnvironmentVersions[] = [];
      for (const name of names) all.push(await api<EnvironmentVersions>('GET', `/api/v1/artifacts/${q(name)}/versions?environment=${q(values.env)}`));
      out(all.length === 1 ? all[0] : all, () =>
        all.forEach((r, i) => {
          if (i) console.log('');
          console.log(`${r.artifact} in ${r.environment}: ${r.latest ? `runs ${r.latest.version}` : 'nothing yet'}`);
          grid(
            ['', 'Version', 'Tag', 'Entered At', 'By', 'Digest'],
            r.versions.map((v, n) => [n === r.versions.findIndex((x) => x.current) ? '*' : '', v.version, v.tag, when(v.createdAt), v.createdBy, v.digest]),
          );
        }),
      );
    });
}

/** discovery: registry repositories whose pushes become versions */
export function registerLinks(program: Command): void {
  const link = program.command('link').description('registry repositories linked to an artifact (pushed tags become versions)');
  link
    .command('list')
    .description("an artifact's registry links")
    .requiredOption('--artifact <name>', 'artifact')
    .action(async () => {
      const r = await api<RegistryLinks>('GET', `/api/v1/artifacts/${q(values.artifact!)}/links`);
      out(r, () =>
        grid(
          ['Id', 'Registry', 'Repository', 'Tags'],
          r.items.map((l) => [l.id, l.registry, l.repository, 'semver' in l.tags ? 'semver' : `/${l.tags.pattern}/`]),
        ),
      );
    });
  link
    .command('add')
    .description("link a repository (admin); prints the token the registry's notifications must carry (shown once)")
    .requiredOption('--artifact <name>', 'artifact')
    .requiredOption('--registry <host>', 'registry host[:port], e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com')
    .requiredOption('--repository <name>', 'repository in that registry')
    .option('--pattern <regex>', 'only tags matching this (whole tag; default: any semantic version)')
    .action(async () => {
      const body = { registry: values.registry, repository: values.repository, tags: values.pattern ? { pattern: values.pattern } : { semver: true } };
      const r = await api<RegistryLinkCreated>('POST', `/api/v1/artifacts/${q(values.artifact!)}/links`, body);
      out(r, () =>
        console.log(
          `${r.id}: ${r.registry}/${r.repository} → ${r.artifact}\nnotifications: POST /api/v1/registry/notifications/<tenant>/${r.artifact}/${r.id} with Authorization: Bearer ${r.notifyToken} (shown once)`,
        ),
      );
    });
  link
    .command('remove')
    .description('remove a link (admin)')
    .requiredOption('--artifact <name>', 'artifact')
    .argument('<id>')
    .action(async (id: string) => {
      await api('DELETE', `/api/v1/artifacts/${q(values.artifact!)}/links/${q(id)}`);
      out({ removed: id }, () => console.log(`removed ${id}`));
    });
}
