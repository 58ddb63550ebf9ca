import type { ChangeControl } from '#domain/kernel/model';
import {
  ChangeRefused,
  ChangeUnavailable,
  type ChangeOutcome,
  type ChangeProvider,
  type ChangeRef,
  type ChangeRequestDraft,
  type ChangeStatus,
  type ChangeFound,
  type ChangeTemplateCheck,
} from '#domain/change/ports';
import { guardedFetch, OutboundRefused, readLimited } from '../outbound.ts';

/** The credential a rule holds, opened: ServiceNow takes basic authentication or an OAuth bearer token. */
export type SnCredentials = { basic: { user: string; password: string } } | { bearer: { token: string } };

type Row = Record<string, unknown>;

/** A field of a Table API row: with sysparm_display_value=all each is {value, display_value}; without it, the value. */
const field = (row: Row, name: string): string => {
  const v = row[name];
  if (v && typeof v === 'object' && 'value' in (v as Row)) return String((v as Row).value ?? '');
  return v === undefined || v === null ? '' : String(v);
};

/** ServiceNow's date-times are `YYYY-MM-DD HH:MM:SS` in UTC (the value, not the display value): an ISO instant. */
const instant = (s: string): string | null => {
  if (!s) return null;
  const d = new Date(/Z|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};

const FIELDS = 'sys_id,number,state,approval,start_date,end_date,close_code,close_notes,correlation_id';
/** Requests read per correlation value, at most (oldest first): one's own, and a few others may have opened with it. */
const FIND_LIMIT = 10;

/**
 * ServiceNow's Table API (`/api/now/table/change_request`) and, for a standard change, the Change Management API's
 * standard change route (`/api/sn_chg_rest/change/standard/{template sys_id}`), through the outbound rules (public
 * addresses only after DNS, no redirects). The draft's correlation value (the promotion's id and its correlation token)
 * is the request's `correlation_id`, so a create whose answer was lost is found again (`find`), with who opened each
 * request found (`sys_created_by`, compared with the basic credential's user; a bearer token's user is not known here).
 * Answers: `{result: …}`, or `{error: {message, detail}, status: "failure"}`, whose message is the tool's reason.
 */
export class ServiceNowChanges implements ChangeProvider, ChangeTemplateCheck {
  readonly kind = 'servicenow' as const;
  private readonly base: string;

  constructor(
    private readonly rule: Pick<ChangeControl, 'instanceUrl' | 'type' | 'template'>,
    private readonly credentials: SnCredentials,
  ) {
    this.base = rule.instanceUrl.replace(/\/+$/, '');
  }

  private auth(): string {
    const c = this.credentials;
    return 'basic' in c ? `Basic ${Buffer.from(`${c.basic.user}:${c.basic.password}`).toString('base64')}` : `Bearer ${c.bearer.token}`;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await guardedFetch(`${this.base}${path}`, {
        method,
        headers: { accept: 'application/json', authorization: this.auth(), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        timeoutMs: 10_000,
      });
    } catch (err) {
      if (err instanceof OutboundRefused) throw new ChangeRefused(`the instance URL was refused: ${err.message}`);
      throw new ChangeUnavailable(
        `ServiceNow could not be reached (${(err as { name?: string }).name === 'TimeoutError' ? 'no answer within 10 s' : 'the connection failed'})`,
      );
    }
    const text = await readLimited(res, 256 * 1024).catch(() => '');
    let data: { result?: unknown; error?: { message?: unknown; detail?: unknown } } | null = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.status >= 300 && res.status < 400)
      throw new ChangeRefused(`ServiceNow answered a redirect (HTTP ${res.status}), which is not followed: check the instance URL`, res.status);
    if (res.status === 429 || res.status >= 500) throw new ChangeUnavailable(`ServiceNow answered HTTP ${res.status}`);
    if (!res.ok) {
      const said = [data?.error?.message, data?.error?.detail].filter((x) => typeof x === 'string' && x).join(': ');
      const what = res.status === 401 ? 'the credential was refused' : res.status === 403 ? 'the credential may not do this' : `HTTP ${res.status}`;
      throw new ChangeRefused(`ServiceNow refused it (${what})${said ? `: ${said}` : ''}`, res.status);
    }
    if (!data || !('result' in data)) throw new ChangeUnavailable('ServiceNow answered without a result');
    return data.result;
  }

  private refOf(row: Row): ChangeRef {
    const id = field(row, 'sys_id');
    const number = field(row, 'number');
    if (!id || !number) throw new ChangeUnavailable('ServiceNow answered a change request without its sys_id or number');
    return { provider: 'servicenow', id, number, url: `${this.base}/nav_to.do?uri=change_request.do?sys_id=${encodeURIComponent(id)}` };
  }

  async create(draft: ChangeRequestDraft): Promise<ChangeRef> {
    const fields = { short_description: draft.title, description: draft.description, correlation_id: draft.correlationId, correlation_display: 'Stageline' };
    if (this.rule.type === 'standard') {
      const template = encodeURIComponent(await this.templateId(this.rule.template ?? ''));
      return this.refOf((await this.call('POST', `/api/sn_chg_rest/change/standard/${template}`, fields)) as Row);
    }
    return this.refOf((await this.call('POST', `/api/now/table/change_request?sysparm_fields=${FIELDS}`, { ...fields, type: 'normal' })) as Row);
  }

  async find(correlationIds: readonly string[]): Promise<ChangeFound[]> {
    const user = 'basic' in this.credentials ? this.credentials.basic.user : null;
    const found: ChangeFound[] = [];
    for (const correlationId of correlationIds) {
      // Stageline's correlation values are its ids and base64url tokens: nothing that could end a term of the encoded query.
      if (!/^[A-Za-z0-9_.-]+$/.test(correlationId)) throw new ChangeRefused(`'${correlationId}' is not a correlation value Stageline writes`);
      const q = new URLSearchParams({
        sysparm_query: `correlation_id=${correlationId}^ORDERBYsys_created_on`,
        sysparm_fields: `${FIELDS},sys_created_by`,
        sysparm_limit: String(FIND_LIMIT),
      });
      const rows = (await this.call('GET', `/api/now/table/change_request?${q}`)) as Row[];
      for (const row of Array.isArray(rows) ? rows : []) {
        const createdBy = field(row, 'sys_created_by') || null;
        found.push({
          ref: this.refOf(row),
          // ServiceNow may match a value in another case: only the exact value counts as Stageline's.
          correlation: field(row, 'correlation_id') === correlationId ? correlationId : null,
          createdBy,
          // (ServiceNow's user names sign in in any case)
          byIntegrationUser: user && createdBy ? createdBy.toLowerCase() === user.toLowerCase() : null,
        });
      }
    }
    return found;
  }

  async read(ref: ChangeRef): Promise<ChangeStatus> {
    const row = (await this.call('GET', `/api/now/table/change_request/${encodeURIComponent(ref.id)}?sysparm_fields=${FIELDS}`)) as Row;
    const start = instant(field(row, 'start_date'));
    const end = instant(field(row, 'end_date'));
    const reason = field(row, 'close_notes');
    return {
      state: field(row, 'state'),
      approval: field(row, 'approval') || undefined,
      ...(start && end ? { window: { start, end } } : {}),
      ...(reason ? { reason } : {}),
    };
  }

  async note(ref: ChangeRef, text: string): Promise<void> {
    await this.call('PATCH', `/api/now/table/change_request/${encodeURIComponent(ref.id)}?sysparm_fields=sys_id`, { work_notes: text });
  }

  async close(ref: ChangeRef, outcome: ChangeOutcome, text: string): Promise<void> {
    // Review (0) then Closed (3) with a close code: the states a change request is closed through.
    await this.call('PATCH', `/api/now/table/change_request/${encodeURIComponent(ref.id)}?sysparm_fields=sys_id`, {
      state: '3',
      close_code: outcome === 'successful' ? 'successful' : 'unsuccessful',
      close_notes: text,
      work_notes: text,
    });
  }

  /** Cancels a request that no longer speaks for the release (voided by a rebase, the promotion cancelled). */
  async cancel(ref: ChangeRef, text: string): Promise<void> {
    await this.call('PATCH', `/api/now/table/change_request/${encodeURIComponent(ref.id)}?sysparm_fields=sys_id`, {
      state: '4',
      work_notes: text,
      close_notes: text,
    });
  }

  async checkTemplate(template: string): Promise<void> {
    await this.templateId(template);
  }

  /** A standard change template's sys_id from its sys_id or name, as the Change Management API lists them. */
  private async templateId(template: string): Promise<string> {
    const q = new URLSearchParams({ sysparm_query: `sys_id=${template}^ORname=${template}`, sysparm_limit: '1' });
    const rows = (await this.call('GET', `/api/sn_chg_rest/change/standard/template?${q}`)) as Row[];
    const row = Array.isArray(rows) ? rows[0] : undefined;
    if (!row) throw new ChangeRefused(`ServiceNow has no standard change template '${template}' (by sys_id or name)`, 404);
    return field(row, 'sys_id');
  }
}
