import { analysisAttachments, attachmentIssues } from '../config/targets.ts';
import type { Issue } from '../kernel/errors.ts';
import { cloudWatchAccountIssues, type MetricAccount } from '../verification/metric-accounts.ts';
import type { AnalysisTemplate } from '../verification/template.ts';
import type { Setup } from './sections.ts';

/**
 * The manifest's analysis templates (`analysis_templates`) and the attachments of its environment settings
 * (`analysis`, `pre_analysis`, a wave's `analysis` and `compare`, a target's `analysis`): every attachment
 * names a template the tenant will have after the apply (stored, or in the same document), measuring within
 * the bake it runs in; a template the document removes while something still attaches it is refused.
 */

export const sortTemplates = (ts: readonly AnalysisTemplate[]) => [...ts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** By name, for plans that name the template and field that change. */
export const templatesByName = (ts: readonly AnalysisTemplate[]) => Object.fromEntries(ts.map((t) => [t.name, t]));

/** The document's path of an attachment field (the API's preAnalysis is the document's pre_analysis). */
const docPath = (path: string) => path.replace('.preAnalysis.', '.pre_analysis.');

export function templateAttachmentIssues(cur: Setup, want: Omit<Setup, 'gates'> & Partial<Setup>, doc: string): Issue[] {
  const wanted = new Map(want.analysis_templates.map((t) => [t.name, t]));
  const had = new Set(cur.analysis_templates.map((t) => t.name));
  const issues: Issue[] = [];
  for (const env of want.environments) {
    const s = want.settings[env];
    if (!s) continue;
    const attachments = analysisAttachments(
      { analysis: s.analysis, preAnalysis: s.pre_analysis, targets: s.targets, rollout: s.rollout, bakeSeconds: s.bake_seconds },
      `${doc}.environment_settings.${env}`,
    );
    for (const a of attachments)
      if (!wanted.has(a.template) && had.has(a.template))
        issues.push({
          path: `${doc}.analysis_templates`,
          message: `removes the analysis template '${a.template}', still attached at ${docPath(a.path).slice(doc.length + 1)}: detach it in the same document, or keep it`,
        });
    issues.push(
      ...attachmentIssues(
        attachments.filter((a) => wanted.has(a.template) || !had.has(a.template)),
        wanted,
      ).map((i) => ({ ...i, path: docPath(i.path) })),
    );
  }
  return issues;
}

/**
 * The document's CloudWatch analyses whose measured targets have no account with a role the tenant registered
 * (`stageline metric-accounts`): each names its field and the target, as the environment routes do (422).
 */
export function cloudWatchManifestIssues(
  want: Pick<Setup, 'environments' | 'settings' | 'analysis_templates'>,
  accounts: readonly MetricAccount[] | undefined,
  doc: string,
): Issue[] {
  return want.environments.flatMap((env) => {
    const s = want.settings[env];
    if (!s) return [];
    return cloudWatchAccountIssues(
      { analysis: s.analysis, preAnalysis: s.pre_analysis, targets: s.targets, rollout: s.rollout, bakeSeconds: s.bake_seconds },
      want.analysis_templates,
      accounts,
      `${doc}.environment_settings.${env}`,
    ).map((i) => ({ ...i, path: docPath(i.path) }));
  });
}
