import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { ServiceDeskModels } from 'jira.js/serviceDesk';
import type { Version3Models } from 'jira.js/version3';

/**
 * A Jira Service Management stand-in on loopback, held to Atlassian's published REST description: the
 * endpoints the change adapter (functions/adapters/change/jira.ts) calls, answering bodies shaped as
 * Atlassian's. jira.js, generated from the same OpenAPI descriptions, ships TypeScript models and no
 * JSON schema (nor does any installed package), so every answer here `satisfies` jira.js's own model
 * type: the compiler holds the stand-in to the schema the client is generated from.
 *
 * - JSM (`/rest/servicedeskapi`): GET /servicedesk/{serviceDeskId}, GET /servicedesk/{serviceDeskId}/requesttype/{requestTypeId}
 *   (what a rule names, looked up when it is saved), POST /request, GET /request/{idOrKey}, GET /request/{idOrKey}/approval,
 *   GET and POST /request/{idOrKey}/comment;
 * - platform (`/rest/api/3`): GET /myself, GET /search/jql (only `labels = "…"`; the fields asked for: summary,
 *   labels, creator, reporter), GET /issue/{idOrKey} (fields=…), GET and POST /issue/{idOrKey}/transitions.
 *
 * The credential (basic or bearer) is one account (`accountId`): a request it raises has it as creator and reporter.
 *
 * Error bodies as each API writes them: JSM `{ errorMessage, i18nErrorMessage }`, the platform
 * `{ errorMessages, errors }`. Requests are recorded (`seen`) and what breaks the description
 * (a body that is not JSON, an unknown path, a field JSM would refuse) is recorded in `violations`.
 *
 * A test drives the change board: `approve`, `decline`, `cancel`, `setWindow`; `raise` is someone else raising a
 * request with their own account; and faults: `failNext`
 * (answer a status instead), `loseNextAnswer` (do the work, then drop the connection), `redirectNext`.
 */

export interface JiraStandinRequest {
  id: string;
  key: string;
  summary: string;
  description: string;
  labels: string[];
  status: string;
  resolution: string | null;
  approvals: { id: string; name: string; finalDecision: 'approved' | 'declined' | 'pending' }[];
  comments: { id: string; body: string; public: boolean }[];
  fields: Record<string, string>;
  /** the account ids of who created it and who it was raised for */
  creator: string;
  reporter: string;
}

export interface JiraStandin {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  serviceDeskId: string;
  requestTypeId: string;
  /** the account the credential belongs to */
  accountId: string;
  requests: JiraStandinRequest[];
  seen: { method: string; path: string; headers: IncomingHttpHeaders; body: unknown }[];
  violations: string[];
  approve(key: string): void;
  decline(key: string, reason: string): void;
  cancel(key: string, reason: string): void;
  setWindow(key: string, start: string, end: string): void;
  /** Someone else (account `by`) raises a request in the service desk, with these labels. */
  raise(o: { summary: string; labels: string[]; by: string }): JiraStandinRequest;
  failNext(status: number, body?: unknown, times?: number): void;
  loseNextAnswer(): void;
  redirectNext(location: string): void;
  stop(): Promise<void>;
}

/** The ITSM change workflow's statuses and the transitions between them (JSM's IT service management template). */
const WORKFLOW: Record<string, { id: string; name: string; to: string }[]> = {
  'Awaiting approval': [{ id: '21', name: 'Cancel', to: 'Canceled' }],
  'Awaiting implementation': [
    { id: '31', name: 'Implement', to: 'Implementing' },
    { id: '41', name: 'Completed', to: 'Completed' },
    { id: '51', name: 'Failed', to: 'Failed' },
    { id: '21', name: 'Cancel', to: 'Canceled' },
  ],
  Implementing: [
    { id: '41', name: 'Completed', to: 'Completed' },
    { id: '51', name: 'Failed', to: 'Failed' },
  ],
};

const CATEGORY: Record<string, string> = { Completed: 'DONE', Failed: 'DONE', Declined: 'DONE', Canceled: 'DONE', Implementing: 'INDETERMINATE' };

export async function startJiraStandin(o: {
  email: string;
  apiToken: string;
  /** also accepted: `Authorization: Bearer <this>` (an OAuth 2.0 access token, a Data Center personal access token) */
  bearerToken?: string;
  serviceDeskId?: string;
  requestTypeId?: string;
  projectKey?: string;
  /** the account id of the credential's account */
  accountId?: string;
}): Promise<JiraStandin> {
  const accountId = o.accountId ?? '5b10ac8d82e05b22cc7d4ef5';
  const serviceDeskId = o.serviceDeskId ?? '4';
  const requestTypeId = o.requestTypeId ?? '42';
  const projectKey = o.projectKey ?? 'ITSM';
  const expectedAuth = `Basic ${Buffer.from(`${o.email}:${o.apiToken}`).toString('base64')}`;
  const requests: JiraStandinRequest[] = [];
  const seen: JiraStandin['seen'] = [];
  const violations: string[] = [];
  const faults: { status: number; body: unknown }[] = [];
  let lose = false;
  let redirect: string | null = null;
  let origin = '';

  const byIdOrKey = (idOrKey: string) => requests.find((r) => r.id === idOrKey || r.key === idOrKey);
  const must = (key: string) => {
    const r = byIdOrKey(key);
    if (!r) throw new Error(`no request ${key} in the stand-in`);
    return r;
  };
  const date = (ms: number) => ({ iso8601: new Date(ms).toISOString(), epochMillis: ms }) satisfies ServiceDeskModels.Date;
  const jsmError = (message: string) => ({ errorMessage: message, i18nErrorMessage: { i18nKey: 'sd.error', parameters: [] } });
  const platformError = (messages: string[], errors: Record<string, string> = {}) => ({ errorMessages: messages, errors });

  function customerRequest(r: JiraStandinRequest) {
    return {
      issueId: r.id,
      issueKey: r.key,
      requestTypeId,
      serviceDeskId,
      createdDate: date(0),
      requestFieldValues: [
        { fieldId: 'summary', label: 'Summary', value: r.summary },
        { fieldId: 'description', label: 'Description', value: r.description },
      ],
      currentStatus: { status: r.status, statusCategory: CATEGORY[r.status] ?? 'NEW', statusDate: date(0) },
    } satisfies ServiceDeskModels.CustomerRequest;
  }

  function newRequest(summary: string, description: string, labels: string[], by: string): JiraStandinRequest {
    const n = requests.length + 1;
    const r: JiraStandinRequest = {
      id: String(10000 + n),
      key: `${projectKey}-${n}`,
      summary,
      description,
      labels,
      status: 'Awaiting approval',
      resolution: null,
      approvals: [{ id: String(n), name: 'Change approval', finalDecision: 'pending' }],
      comments: [],
      fields: {},
      creator: by,
      reporter: by,
    };
    requests.push(r);
    return r;
  }

  const user = (id: string) =>
    ({ accountId: id, accountType: 'atlassian', active: true, self: `${origin}/rest/api/3/user?accountId=${id}` }) satisfies Version3Models.User;

  function route(method: string, path: string, query: URLSearchParams, body: any): [number, unknown] {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/rest/api/3/myself')
      return [200, { ...user(accountId), emailAddress: o.email, displayName: 'Release bot' } satisfies Version3Models.User];
    if (method === 'POST' && path === '/rest/servicedeskapi/request') {
      if (body?.serviceDeskId !== serviceDeskId) return [404, jsmError(`The service desk with id ${String(body?.serviceDeskId)} does not exist.`)];
      if (body?.requestTypeId !== requestTypeId) return [400, jsmError(`The request type ${String(body?.requestTypeId)} does not exist in this service desk.`)];
      const values = (body.requestFieldValues ?? {}) as Record<string, unknown>;
      const allowed = new Set(['summary', 'description', 'labels']);
      const unknown = Object.keys(values).filter((k) => !allowed.has(k));
      if (unknown.length) return [400, jsmError(`The following fields are not valid for this request type: ${unknown.join(', ')}`)];
      if (typeof values.summary !== 'string' || !values.summary.trim())
        return [400, jsmError('Your request could not be created. Please check the fields have been correctly filled in. Summary is required')];
      if (values.summary.length > 255) return [400, jsmError('Summary: You must specify a summary of less than 255 characters.')];
      if (values.labels !== undefined && (!Array.isArray(values.labels) || values.labels.some((l) => typeof l !== 'string' || /\s/.test(l))))
        violations.push('POST /request: labels must be strings without spaces');
      const r = newRequest(
        values.summary,
        typeof values.description === 'string' ? values.description : '',
        (values.labels as string[] | undefined) ?? [],
        accountId,
      );
      return [201, customerRequest(r)];
    }
    // GET /rest/servicedeskapi/servicedesk/{serviceDeskId} and …/requesttype/{requestTypeId}: what a rule names, looked up at save.
    if (method === 'GET' && (m = path.match(/^\/rest\/servicedeskapi\/servicedesk\/([^/]+)(?:\/requesttype\/([^/]+))?$/))) {
      const desk = decodeURIComponent(m[1]!);
      if (desk !== serviceDeskId && desk !== projectKey) return [404, jsmError(`The service desk with id ${desk} does not exist.`)];
      if (m[2] === undefined)
        return [
          200,
          {
            id: serviceDeskId,
            projectId: '10000',
            projectName: 'IT Service Management',
            projectKey,
            _links: { self: `${origin}/rest/servicedeskapi/servicedesk/${serviceDeskId}` },
          } satisfies ServiceDeskModels.ServiceDesk & { _links: unknown },
        ];
      const type = decodeURIComponent(m[2]);
      if (type !== requestTypeId) return [404, jsmError(`The request type ${type} does not exist in this service desk.`)];
      return [
        200,
        {
          id: requestTypeId,
          name: 'Change',
          description: 'Request a change to a production service',
          helpText: '',
          issueTypeId: '10005',
          serviceDeskId,
          portalId: serviceDeskId,
          groupIds: [],
          practice: 'change',
        } satisfies ServiceDeskModels.RequestType,
      ];
    }
    if ((m = path.match(/^\/rest\/servicedeskapi\/request\/([^/]+)(\/[a-z]+)?$/))) {
      const r = byIdOrKey(decodeURIComponent(m[1]!));
      if (!r) return [404, jsmError('Request does not exist or you do not have permission to see it.')];
      const sub = m[2];
      if (method === 'GET' && !sub) return [200, customerRequest(r)];
      if (method === 'GET' && sub === '/approval') {
        const values = r.approvals.map(
          (a) =>
            ({
              id: a.id,
              name: a.name,
              finalDecision: a.finalDecision,
              canAnswerApproval: false,
              approvers: [],
              createdDate: date(0),
            }) satisfies ServiceDeskModels.Approval,
        );
        return [200, { size: values.length, start: 0, limit: 50, isLastPage: true, values } satisfies ServiceDeskModels.PagedApproval];
      }
      if (sub === '/comment' && method === 'GET') {
        const start = Number(query.get('start') ?? 0);
        const limit = Math.min(Number(query.get('limit') ?? 50), 100);
        const values = r.comments
          .slice(start, start + limit)
          .map((c) => ({ id: c.id, body: c.body, public: c.public, created: date(0) }) satisfies ServiceDeskModels.Comment);
        return [200, { size: values.length, start, limit, isLastPage: start + limit >= r.comments.length, values } satisfies ServiceDeskModels.PagedComment];
      }
      if (sub === '/comment' && method === 'POST') {
        if (typeof body?.body !== 'string' || !body.body) return [400, jsmError('The comment body is required.')];
        if (typeof body.public !== 'boolean') violations.push('POST /comment: public is not a boolean');
        const c = { id: String(r.comments.length + 1), body: body.body as string, public: body.public !== false };
        r.comments.push(c);
        return [201, { ...c, created: date(0) } satisfies ServiceDeskModels.Comment];
      }
    }
    if (method === 'GET' && path === '/rest/api/3/search/jql') {
      const jql = query.get('jql') ?? '';
      const label = jql.match(/^labels = "([^"\\]+)"( ORDER BY created ASC)?$/);
      if (!label) return [400, platformError([`Error in the JQL Query: the stand-in reads only labels = "…" (${jql}).`])];
      const max = Number(query.get('maxResults') ?? 50);
      const wanted = new Set((query.get('fields') ?? 'summary').split(',').filter(Boolean));
      const shown = (r: JiraStandinRequest): Partial<Version3Models.Fields> => ({
        ...(wanted.has('summary') ? { summary: r.summary } : {}),
        ...(wanted.has('labels') ? { labels: r.labels } : {}),
        ...(wanted.has('creator') ? { creator: user(r.creator) } : {}),
        ...(wanted.has('reporter') ? { reporter: user(r.reporter) } : {}),
      });
      const issues = requests
        .filter((r) => r.labels.includes(label[1]!))
        .slice(0, max)
        .map((r) => ({ id: r.id, key: r.key, self: `${origin}/rest/api/3/issue/${r.id}`, fields: shown(r) }) satisfies Issue);
      return [200, { issues } satisfies Omit<Version3Models.SearchAndReconcileResults, 'issues'> & { issues: Issue[] }];
    }
    if ((m = path.match(/^\/rest\/api\/3\/issue\/([^/]+)(\/transitions)?$/))) {
      const r = byIdOrKey(decodeURIComponent(m[1]!));
      if (!r) return [404, platformError(['Issue does not exist or you do not have permission to see it.'])];
      if (method === 'GET' && !m[2]) {
        const wanted = (query.get('fields') ?? '').split(',').filter(Boolean);
        const all: Partial<Version3Models.Fields> = {
          summary: r.summary,
          labels: r.labels,
          status: { name: r.status, id: r.status, statusCategory: { key: CATEGORY[r.status]?.toLowerCase() ?? 'new' } },
          resolution: r.resolution ? { name: r.resolution } : null,
          ...r.fields,
        };
        const fields = Object.fromEntries(wanted.map((f) => [f, all[f] ?? null]));
        return [200, { id: r.id, key: r.key, self: `${origin}/rest/api/3/issue/${r.id}`, fields } satisfies Issue];
      }
      if (method === 'GET' && m[2]) {
        const transitions = (WORKFLOW[r.status] ?? []).map(
          (t) => ({ id: t.id, name: t.name, to: { name: t.to, id: t.to } }) satisfies Version3Models.IssueTransition,
        );
        return [200, { transitions } satisfies Version3Models.Transitions];
      }
      if (method === 'POST' && m[2]) {
        const t = (WORKFLOW[r.status] ?? []).find((x) => x.id === body?.transition?.id);
        if (!t) return [400, platformError([`Transition id '${String(body?.transition?.id)}' is not valid for this issue.`])];
        r.status = t.to;
        if (CATEGORY[t.to] === 'DONE') r.resolution = t.to === 'Completed' ? 'Done' : t.to;
        return [204, undefined];
      }
    }
    violations.push(`${method} ${path}: not an endpoint the stand-in serves`);
    return [404, platformError([`No route ${method} ${path}`])];
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const method = req.method ?? 'GET';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        violations.push(`${method} ${url.pathname}: the body is not JSON`);
      }
      seen.push({ method, path: `${url.pathname}${url.search}`, headers: req.headers, body });
      const send = (status: number, answer: unknown) => {
        res.writeHead(status, answer === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' });
        res.end(answer === undefined ? undefined : JSON.stringify(answer));
      };
      if (redirect) {
        const to = redirect;
        redirect = null;
        res.writeHead(302, { location: to }).end();
        return;
      }
      if (req.headers.authorization !== expectedAuth && !(o.bearerToken && req.headers.authorization === `Bearer ${o.bearerToken}`))
        return send(401, platformError(['Client must be authenticated to access this resource.']));
      const fault = faults.shift();
      if (fault) return send(fault.status, fault.body);
      let answer: [number, unknown];
      try {
        answer = route(method, url.pathname, url.searchParams, body);
      } catch (err) {
        violations.push(`${method} ${url.pathname}: the stand-in failed: ${(err as Error).message}`);
        answer = [500, platformError([(err as Error).message])];
      }
      if (lose) {
        lose = false;
        req.socket.destroy();
        return;
      }
      send(...answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const comment = (r: JiraStandinRequest, body: string) => r.comments.push({ id: String(r.comments.length + 1), body, public: false });
  return {
    origin,
    serviceDeskId,
    requestTypeId,
    accountId,
    requests,
    seen,
    violations,
    approve(key) {
      const r = must(key);
      for (const a of r.approvals) a.finalDecision = 'approved';
      r.status = 'Awaiting implementation';
    },
    decline(key, reason) {
      const r = must(key);
      for (const a of r.approvals) a.finalDecision = 'declined';
      comment(r, reason);
      r.status = 'Declined';
      r.resolution = 'Declined';
    },
    cancel(key, reason) {
      const r = must(key);
      comment(r, reason);
      r.status = 'Canceled';
      r.resolution = 'Canceled';
    },
    setWindow(key, start, end) {
      // Jira writes date-times with a numeric offset and no colon: 2026-11-30T10:00:00.000+0000.
      const jira = (iso: string) => new Date(iso).toISOString().replace(/Z$/, '+0000');
      must(key).fields = { customfield_10041: jira(start), customfield_10042: jira(end) };
    },
    raise({ summary, labels, by }) {
      return newRequest(summary, '', labels, by);
    },
    failNext(status, body, times = 1) {
      for (let i = 0; i < times; i++) faults.push({ status, body: body ?? (status >= 500 ? undefined : platformError([`HTTP ${status}`])) });
    },
    loseNextAnswer() {
      lose = true;
    },
    redirectNext(location) {
      redirect = location;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An issue as the platform API answers it with `fields=` asking for a few: jira.js's model types every field as present, the description only those asked for. */
type Issue = Omit<Version3Models.Issue, 'fields'> & { fields: Partial<Version3Models.Fields> };
