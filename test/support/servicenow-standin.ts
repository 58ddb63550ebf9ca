import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A ServiceNow stand-in held to the published REST description of the Table API (`/api/now/table/change_request`:
 * POST, GET by sys_id, GET with sysparm_query / sysparm_fields / sysparm_limit / sysparm_display_value, PATCH) and of the
 * Change Management API's standard changes (`/api/sn_chg_rest/change/standard/template`, POST
 * `/api/sn_chg_rest/change/standard/{template sys_id}`). Answers are `{result: …}`, errors
 * `{error: {message, detail}, status: "failure"}`; date-times are `YYYY-MM-DD HH:MM:SS` (UTC); the journal field
 * work_notes is write-only (a PATCH appends an entry). Authentication: basic (user, password) or a bearer token.
 * What a person does in ServiceNow is a method here: approve (with a planned window), reject, cancel, and `plant` (someone
 * else opens a change request, in ServiceNow's own form or with their own account). Every record says who opened it
 * (`sys_created_by`: the basic user, or `tokenUser` for a bearer token), and a query's ORDERBY sys_created_on is honoured.
 * A fault: `loseNextCreate` creates the record and drops the connection before the answer (a lost answer).
 */
export interface SnRecord {
  sys_id: string;
  number: string;
  type: 'normal' | 'standard' | 'emergency';
  state: string;
  approval: 'not requested' | 'requested' | 'approved' | 'rejected';
  short_description: string;
  description: string;
  correlation_id: string;
  correlation_display: string;
  start_date: string;
  end_date: string;
  close_code: string;
  close_notes: string;
  std_change_producer_version: string;
  sys_created_on: string;
  /** the user name of who opened it (ServiceNow sets it; read-only) */
  sys_created_by: string;
  /** the journal of work notes (never answered as a field: ServiceNow's journal fields are write-only through the Table API) */
  notes: string[];
}

export interface ServiceNowStandin {
  url: string;
  records: SnRecord[];
  /** requests that broke the published description (none expected) */
  violations: string[];
  /** create requests received (a lost answer counted too) */
  creates: number;
  templates: { sys_id: string; name: string }[];
  /** every sysparm_query a GET of change_request was sent with, in order */
  queries: string[];
  byCorrelation(id: string): SnRecord[];
  /** the requests opened for a promotion: its correlation_id is the promotion's id, alone or followed by `.` (oldest first) */
  byPromotion(id: string): SnRecord[];
  /** Someone else opens a change request (`createdBy`, another account; `createdOn` defaults to now): it answers as any other. */
  plant(fields: Partial<Omit<SnRecord, 'sys_id' | 'number' | 'notes'>>, createdBy: string, createdOn?: Date): SnRecord;
  approve(number: string, window?: { start: Date; end: Date }): void;
  reject(number: string, reason: string): void;
  cancel(number: string, reason: string): void;
  loseNextCreate(): void;
  stop(): Promise<void>;
}

const snTime = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');
const READ_ONLY = new Set(['sys_id', 'number', 'sys_created_on', 'sys_created_by', 'notes']);

export async function startServiceNowStandin(
  auth: { user: string; password: string } | { token: string; /** the user the token belongs to (default stageline.oauth) */ tokenUser?: string },
): Promise<ServiceNowStandin> {
  const records: SnRecord[] = [];
  const violations: string[] = [];
  const templates = [{ sys_id: randomBytes(16).toString('hex'), name: 'Rolling release of a promoted build' }];
  let seq = 30001;
  let lose = false;
  const queries: string[] = [];
  const integrationUser = 'token' in auth ? (auth.tokenUser ?? 'stageline.oauth') : auth.user;
  const s: Partial<ServiceNowStandin> = { records, violations, templates, queries, creates: 0 };

  const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const fail = (res: ServerResponse, status: number, message: string, detail: string) => send(res, status, { error: { message, detail }, status: 'failure' });

  const authorized = (req: IncomingMessage) => {
    const h = req.headers.authorization ?? '';
    if ('token' in auth) return h === `Bearer ${auth.token}`;
    return h === `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  };

  /** A record as the Table API answers it: the fields asked for (sysparm_fields), values or {value, display_value}. */
  const shown = (r: SnRecord, q: URLSearchParams) => {
    const { notes: _n, ...row } = r;
    const fields = q.get('sysparm_fields')?.split(',').filter(Boolean);
    const picked = fields ? Object.fromEntries(fields.map((f) => [f, (row as Record<string, unknown>)[f] ?? ''])) : row;
    const display = q.get('sysparm_display_value');
    if (display === 'all') return Object.fromEntries(Object.entries(picked).map(([k, v]) => [k, { value: v, display_value: v }]));
    return picked;
  };

  const create = (body: Record<string, unknown>, type: SnRecord['type'], template?: string, by = integrationUser, on = new Date()): SnRecord => {
    const r: SnRecord = {
      sys_id: randomBytes(16).toString('hex'),
      number: `CHG00${seq++}`,
      type,
      // A standard change is pre-approved: it is scheduled as it is opened; a normal one starts at New and is requested.
      state: type === 'standard' ? '-2' : '-5',
      approval: type === 'standard' ? 'approved' : 'requested',
      short_description: '',
      description: '',
      correlation_id: '',
      correlation_display: '',
      start_date: '',
      end_date: '',
      close_code: '',
      close_notes: '',
      std_change_producer_version: template ?? '',
      sys_created_on: snTime(on),
      sys_created_by: by,
      notes: [],
    };
    patch(r, body);
    records.push(r);
    return r;
  };

  const patch = (r: SnRecord, body: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(body)) {
      if (typeof v !== 'string') violations.push(`field ${k}: not a string (the Table API takes string values)`);
      if (k === 'work_notes') r.notes.push(String(v));
      else if (READ_ONLY.has(k)) violations.push(`field ${k} is read-only`);
      else if (k in r) (r as unknown as Record<string, unknown>)[k] = String(v);
      else violations.push(`change_request has no field ${k}`);
    }
    if (r.state === '3' && !['successful', 'successful_issues', 'unsuccessful'].includes(r.close_code))
      violations.push(`${r.number} closed without a close code ServiceNow takes (${r.close_code || 'none'})`);
  };

  /** sysparm_query: `field=value` terms joined by ^ (AND) or ^OR, and ORDERBY: what the product sends. */
  const matches = (r: SnRecord, query: string) => {
    const terms = query.split('^').filter((t) => t && !t.startsWith('ORDERBY'));
    let ok = true;
    for (const term of terms) {
      const or = term.startsWith('OR');
      const [k, v] = (or ? term.slice(2) : term).split('=');
      const hit = (r as unknown as Record<string, string>)[k!] === v;
      ok = or ? ok || hit : ok && hit;
    }
    return ok;
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const q = url.searchParams;
      const method = req.method ?? 'GET';
      if (!authorized(req)) return fail(res, 401, 'User Not Authenticated', 'Required to provide Auth information');
      let body: Record<string, unknown> = {};
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          violations.push(`${method} ${url.pathname}: the body is not JSON`);
          return fail(res, 400, 'Exception while reading request', 'The payload is not valid JSON.');
        }
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) violations.push(`${method} ${url.pathname}: no JSON content type`);
      }
      const table = '/api/now/table/change_request';
      if (url.pathname === table && method === 'POST') {
        s.creates!++;
        const r = create(body, (body.type as SnRecord['type']) ?? 'normal');
        if (lose) {
          lose = false;
          req.socket.destroy();
          return;
        }
        return send(res, 201, { result: shown(r, q) });
      }
      if (url.pathname === table && method === 'GET') {
        const query = q.get('sysparm_query') ?? '';
        queries.push(query);
        const limit = Number(q.get('sysparm_limit') ?? '10000');
        const found = records.filter((r) => matches(r, query));
        if (query.includes('ORDERBYsys_created_on')) found.sort((a, b) => a.sys_created_on.localeCompare(b.sys_created_on));
        return send(res, 200, {
          result: found.slice(0, limit).map((r) => shown(r, q)),
        });
      }
      if (url.pathname.startsWith(`${table}/`)) {
        const r = records.find((x) => x.sys_id === decodeURIComponent(url.pathname.slice(table.length + 1)));
        if (!r) return fail(res, 404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
        if (method === 'GET') return send(res, 200, { result: shown(r, q) });
        if (method === 'PATCH' || method === 'PUT') {
          patch(r, body);
          return send(res, 200, { result: shown(r, q) });
        }
        return fail(res, 405, 'Method not Supported', `${method} is not supported`);
      }
      const std = '/api/sn_chg_rest/change/standard/';
      if (url.pathname === `${std}template` && method === 'GET') {
        const query = q.get('sysparm_query') ?? '';
        const found = templates.filter((t) => matches({ ...t } as unknown as SnRecord, query));
        return send(res, 200, {
          result: found.map((t) => ({ sys_id: { value: t.sys_id, display_value: t.sys_id }, name: { value: t.name, display_value: t.name } })),
        });
      }
      if (url.pathname.startsWith(std) && method === 'POST') {
        const id = decodeURIComponent(url.pathname.slice(std.length));
        if (!templates.some((t) => t.sys_id === id))
          return fail(res, 404, 'Invalid standard change template', `No published standard change template with sys_id ${id}`);
        s.creates!++;
        const r = create(body, 'standard', id);
        // The Change Management API answers each field as {value, display_value}.
        return send(res, 200, { result: shown(r, new URLSearchParams({ sysparm_display_value: 'all' })) });
      }
      violations.push(`${method} ${url.pathname}: not a route of the published API`);
      return fail(res, 400, 'Invalid URL', `${url.pathname} is not a valid resource`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const find = (number: string) => {
    const r = records.find((x) => x.number === number);
    if (!r) throw new Error(`no change request ${number}`);
    return r;
  };
  return Object.assign(s, {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    byCorrelation: (id: string) => records.filter((r) => r.correlation_id === id),
    byPromotion: (id: string) => records.filter((r) => r.correlation_id === id || r.correlation_id.startsWith(`${id}.`)),
    plant(fields: Partial<Omit<SnRecord, 'sys_id' | 'number' | 'notes'>>, createdBy: string, createdOn?: Date) {
      const { type, ...rest } = fields;
      const r = create({}, type ?? 'normal', undefined, createdBy, createdOn);
      Object.assign(r, rest);
      return r;
    },
    approve(number: string, window?: { start: Date; end: Date }) {
      const r = find(number);
      r.approval = 'approved';
      r.state = '-2';
      if (window) {
        r.start_date = snTime(window.start);
        r.end_date = snTime(window.end);
      }
    },
    reject(number: string, reason: string) {
      const r = find(number);
      r.approval = 'rejected';
      r.close_notes = reason;
    },
    cancel(number: string, reason: string) {
      const r = find(number);
      r.state = '4';
      r.close_notes = reason;
    },
    loseNextCreate() {
      lose = true;
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  }) as ServiceNowStandin;
}
