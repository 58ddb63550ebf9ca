import { awsName } from '../../kernel/aws-names.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';

/** The name of a promotion's one-time schedule (its go time, a freeze's end, a start window, a pull request's poll): one per promotion. */
export function scheduleName(p: Pick<Promotion, 'tenant' | 'id'>): string {
  return awsName('stageline-', [p.tenant, p.id]);
}
