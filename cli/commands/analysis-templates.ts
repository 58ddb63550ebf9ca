import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { AnalysisTemplate, AnalysisTemplateList } from '../answers.ts';
import { fail, q, values } from '../context.ts';
import { api } from '../http.ts';
import { grid, out } from '../output.ts';

/** How long a template measures: its initial delay plus interval × count. */
const measures = (t: Pick<AnalysisTemplate, 'initialDelaySeconds' | 'intervalSeconds' | 'count'>) =>
  `${t.initialDelaySeconds + t.intervalSeconds * t.count}s (${t.count} × ${t.intervalSeconds}s)`;

/** analysis templates: what a bake or a check measures, and how it is judged */
export function registerAnalysisTemplates(program: Command): void {
  const templates = program.command('analysis-templates').description('analysis templates: the measurements bakes and checks run (admins write them)');
  templates
    .command('list')
    .description("the tenant's analysis templates")
    .action(async () => {
      const r = await api<AnalysisTemplateList>('GET', '/api/v1/analysis-templates');
      out(r, () =>
        grid(
          ['Name', 'Provider', 'Measures', 'Success', 'Failure'],
          r.templates.map((t) => [t.name, t.provider.type, measures(t), t.successCondition ?? '', t.failureCondition ?? '']),
        ),
      );
    });
  templates
    .command('show')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await api<AnalysisTemplate>('GET', `/api/v1/analysis-templates/${q(name)}`);
      out(r, () => console.log(JSON.stringify(r, null, 2)));
    });
  templates
    .command('put')
    .description('create or replace a template from a JSON file (admin): its conditions are compiled and its placeholders checked')
    .argument('<name>')
    .requiredOption('-f, --file <template.json>', 'the template (its name left out, or the same)')
    .action(async (name: string) => {
      let body: unknown;
      try {
        body = JSON.parse(readFileSync(values.file!, 'utf8'));
      } catch (err) {
        fail(`cannot read ${values.file}: ${(err as Error).message}`);
      }
      const r = await api<AnalysisTemplate>('PUT', `/api/v1/analysis-templates/${q(name)}`, body);
      out(r, () => console.log(`analysis template ${r.name} saved (${r.provider.type}, measures ${measures(r)}; templates at version ${r.version})`));
    });
  templates
    .command('delete')
    .description('remove a template (admin); refused while an environment, wave or target attaches it')
    .argument('<name>')
    .action(async (name: string) => {
      await api('DELETE', `/api/v1/analysis-templates/${q(name)}`);
      out({ deleted: name }, () => console.log(`deleted ${name}`));
    });
}
