/**
 * The dashboard's script, its own module: served at GET /dashboard/app.js and allowed by the page's
 * CSP through its sha256 hash (the page loads it with the same hash as its integrity), so only this
 * exact text runs. Vanilla JS, no external URLs: no inline event handlers, no style="" attributes,
 * and it builds the DOM with textContent only. Written with String.raw: the script must not contain
 * backticks or dollar-brace sequences (the two interpolations below are the only ones).
 *
 * It asks for a bearer token (kept in sessionStorage, or taken from `#token=…` — fragments never
 * reach a server), then polls GET api/v1/status (same origin) every 5 s, with the app keys and
 * the webhook subscriptions of the tenant.
 */
import { UNSAFE_TEXT_SOURCE } from '#domain/display';
import { WEBHOOKS_VIEW } from './webhooks-view.ts';

const SOURCE = String.raw`
(function () {
  'use strict';
  var KEY = 'stageline.token', EVERY = 5000, MARKS = { PASS: '\u2713', FAIL: '\u2717', WARN: '!', SKIPPED: '-' };
  var NAMES = { '\u2713': 'PASS', '\u2717': 'FAIL', '!': 'WARN', '-': 'SKIPPED' };
  var $ = function (id) { return document.getElementById(id); };
  var timer = null, memory = '', stopped = false;

  function getToken() { try { return sessionStorage.getItem(KEY) || ''; } catch (e) { return memory; } }
  function setToken(t) { memory = t; try { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); } catch (e) { /* storage off: memory only */ } }

  // Text from the API is shown as text: control characters (C0/C1: CR, ESC …) and bidi overrides as escapes (domain/display.ts).
  var UNSAFE = /${UNSAFE_TEXT_SOURCE}/g;
  function visible(s) { return String(s).replace(UNSAFE, function (c) { return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4); }); }
  function clean(v) {
    if (typeof v === 'string') return visible(v);
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') { var o = {}; Object.keys(v).forEach(function (k) { o[visible(k)] = clean(v[k]); }); return o; }
    return v;
  }
  function el(tag, cls, kids) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    (kids || []).forEach(function (k) { if (k !== null && k !== undefined) n.append(typeof k === 'string' ? visible(k) : k); });
    return n;
  }
  function stamp(iso) {
    if (!iso) return '\u2014';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var t = el('time', 'nw', [d.toISOString().slice(0, 19).replace('T', ' ')]);
    t.dateTime = d.toISOString();
    return t;
  }
  function say(text, isError) { var m = $('msg'); m.textContent = visible(text || ''); m.className = isError ? 'err' : ''; }
  function empty(span, text) { var td = el('td', 'mut', [text]); td.colSpan = span; return el('tr', '', [td]); }
  function lines(items) { return items.length ? el('ul', '', items.map(function (i) { return el('li', '', [i]); })) : '\u2014'; }

  function gates(g) {
    if (!g || !g.marks) return el('span', 'mut', ['none yet']);
    var legend = (g.legend || '').split(','), said = [];
    var shown = el('span', 'gates', Array.prototype.map.call(g.marks, function (c, i) {
      var s = el('span', NAMES[c] || '', [c]);
      s.title = (legend[i] || 'gate') + ': ' + (NAMES[c] || c).toLowerCase();
      said.push(s.title);
      return s;
    }));
    shown.setAttribute('aria-hidden', 'true');
    var box = el('span', '', [shown, el('span', 'sr', [said.join(', ')])]);
    if (g.promotionId) box.title = 'from promotion ' + g.promotionId;
    return box;
  }

  function row(e) {
    var arts = e.artifacts || [], last = e.lastPromotion;
    var name = el('th', '', [el('strong', '', [e.displayName || e.name]), ' ', el('code', 'mut', [e.name])]);
    name.scope = 'row';
    var versions = lines(arts.map(function (a) { return el('span', '', [a.artifact + ' ', el('code', '', [a.version]), ' ', el('span', 'mut', ['(' + a.tag + ')'])]); }));
    var at = arts.length ? lines(arts.map(function (a) { return stamp(a.promotedAt); })) : last ? stamp(last.completedAt) : '\u2014';
    var by = arts.length ? lines(arts.map(function (a) { return a.promotedBy; })) : last ? last.requestedBy : '\u2014';
    var cfg = el('span', '', [el('code', '', [e.config.snapshot]), ' ', el('span', 'mut', [e.config.items + ' items'])]);
    cfg.title = 'digest ' + e.config.digest + ', changed ' + (e.config.changedAt || '') + ' by ' + (e.config.changedBy || '');
    var badges = [];
    if (e.autoPromotionPaused) badges.push(el('span', 'badge', ['auto-promotion paused']));
    if (e.protected) badges.push(el('span', 'badge', ['protected']));
    if (e.lastBreakGlass) {
      var g = e.lastBreakGlass, glass = el('span', 'badge', ['break-glass ' + g.by]);
      glass.title = g.action + ' at ' + g.at + ': ' + g.reason;
      badges.push(glass);
    }
    return el('tr', '', [name, el('td', '', [versions]), el('td', '', [at]), el('td', '', [by]), el('td', '', [gates(e.gates)]), el('td', '', [cfg]), el('td', '', badges.length ? badges : ['\u2014'])]);
  }

  function act(p, action, reason) {
    var token = getToken();
    fetch('api/v1/promotions/' + encodeURIComponent(p.id) + '/' + action, {
      method: 'POST', credentials: 'omit', cache: 'no-store',
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(action === 'reject' ? { reason: reason } : {}),
    }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? clean(JSON.parse(text)) : null; } catch (e) { /* not JSON */ }
        if (res.ok) say((action === 'approve' ? 'Approved ' : 'Rejected ') + p.id + (body && body.status ? ': now ' + body.status : ''));
        else say('Could not ' + action + ' ' + p.id + ': ' + (body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status), true);
        refresh();
      });
    }).catch(function () { say('Network error: nothing was changed', true); });
  }

  function decide(p) {
    var approve = el('button', '', ['Approve']);
    approve.type = 'button';
    approve.addEventListener('click', function () { act(p, 'approve'); });
    var reason = el('input', '');
    reason.placeholder = 'why reject (required)';
    reason.setAttribute('aria-label', 'Reason to reject ' + p.id);
    var reject = el('button', '', ['Reject']);
    reject.type = 'button';
    reject.addEventListener('click', function () {
      if (!reason.value.trim()) { say('A rejection needs a reason the requester can act on.', true); reason.focus(); return; }
      act(p, 'reject', reason.value.trim());
    });
    return el('div', 'decide', [approve, reason, reject]);
  }

  function pendingItem(p) {
    return el('li', '', [
      el('strong', '', [p.subject]), ' ' + (p.from === p.to ? 'rollback of ' + p.to : p.from + ' \u2192 ' + p.to) + ' ', el('span', 'badge', [p.status]),
      ' ' + p.why, el('br'),
      el('span', 'mut', ['requested by ' + p.requestedBy + ' at ', stamp(p.requestedAt), ' \u00b7 ', el('code', '', [p.id])]),
      // Approvers act from here through the API (the same checks: groups, separation of duties); others get the API's answer.
      p.status === 'AWAITING_APPROVAL' ? decide(p) : null,
    ]);
  }

  function render(data) {
    var envs = (data.environments || []).slice().sort(function (a, b) { return a.position - b.position; });
    $('envs-body').replaceChildren.apply($('envs-body'), envs.length ? envs.map(row) : [empty(7, 'No environments yet.')]);
    var legend = envs.length && envs[0].gates ? envs[0].gates.legend.split(',').join(', ') : '';
    $('legend').textContent = 'Gates, in order: ' + (legend || '\u2014') + '. ' + MARKS.PASS + ' pass, ' + MARKS.FAIL + ' fail, ' + MARKS.WARN + ' warn, ' + MARKS.SKIPPED + ' not enabled.';
    var pending = data.pending || [];
    // Not while someone is typing a rejection reason in the list.
    if (!$('pending').contains(document.activeElement)) $('pending').replaceChildren.apply($('pending'), pending.length ? pending.map(pendingItem) : [el('li', 'mut', ['No pending promotions.'])]);
    $('status').hidden = false;
    $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + ' \u00b7 refreshes every 5 s';
  }

  // App keys of the tenant: what each reads, its status and when it was last used (the API never returns a secret).
  function keyRow(k) {
    return el('tr', '', [el('td', '', [k.name]), el('td', '', [el('code', '', [k.id])]), el('td', '', [k.environment]), el('td', '', [k.prefix || '\u2014']), el('td', '', [k.status]), el('td', '', [stamp(k.lastUsedAt)]), el('td', '', [k.createdBy])]);
  }
  // A GET of the API with the token: the answer made visible (clean), or null (the status line reports what is wrong).
  function get(path, token) {
    return fetch(path, { headers: { authorization: 'Bearer ' + token, accept: 'application/json' }, cache: 'no-store', credentials: 'omit' })
      .then(function (res) { return res.ok ? res.json().then(clean) : null; })
      .catch(function () { return null; });
  }
  function refreshKeys(token) {
    get('api/v1/app-keys', token).then(function (body) {
      if (!body) return;
      var items = body.items || [];
      $('keys-body').replaceChildren.apply($('keys-body'), items.length ? items.map(keyRow) : [empty(7, 'No app keys yet.')]);
    });
  }
${WEBHOOKS_VIEW}
  function schedule() { clearTimeout(timer); if (!stopped) timer = setTimeout(refresh, EVERY); }

  function refresh() {
    clearTimeout(timer);
    var token = getToken();
    if (!token) { stopped = true; say('Paste a bearer token to see the status (npm start prints them, and a ready dashboard link).'); $('token').focus(); return; }
    if (document.hidden) return schedule();
    fetch('api/v1/status', { headers: { authorization: 'Bearer ' + token, accept: 'application/json' }, cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        return res.text().then(function (text) {
          var body = null;
          try { body = text ? clean(JSON.parse(text)) : null; } catch (e) { /* not JSON */ }
          var why = body && body.error && body.error.message ? ': ' + body.error.message : '';
          if (res.status === 401 || res.status === 403) {
            stopped = true;
            $('status').hidden = true;
            say(res.status === 401
              ? 'The API did not accept this token (401): it is missing, malformed or expired. Paste a valid bearer token above.'
              : 'This token may not read the status (403' + why + '). Paste a token of a user with the viewer role.', true);
            $('token').focus();
            return;
          }
          if (!res.ok || !body) { say('The API answered ' + res.status + why + '. Retrying in 5 s.', true); return schedule(); }
          say('');
          render(body);
          refreshKeys(token);
          refreshHooks(token);
          schedule();
        });
      })
      .catch(function (e) { say('Cannot reach the API (' + e.message + '). Retrying in 5 s.', true); schedule(); });
  }

  function start() { stopped = false; refresh(); }

  // Link your own Slack account: a one-time code for this token's account, to send from Slack.
  function slackCode() {
    var token = getToken();
    if (!token) return say('Paste your token first: the code links the Slack user who sends it to your account.', true);
    fetch('api/v1/slack/link-codes', { method: 'POST', credentials: 'omit', cache: 'no-store', headers: { authorization: 'Bearer ' + token, accept: 'application/json' } })
      .then(function (res) {
        return res.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
          if (res.ok && body) say('In Slack, send: ' + body.command + ' (once, until ' + body.expiresAt + '; it links the Slack user who sends it to ' + body.account + ')');
          else say('Could not get a Slack link code: ' + (body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status), true);
        });
      })
      .catch(function () { say('Network error: no code was made', true); });
  }

  var fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl) {
    setToken(fromUrl.trim());
    history.replaceState(null, '', location.pathname + location.search);
  }
  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('token').value.trim().replace(/^Bearer\s+/i, '');
    $('token').value = '';
    if (t) { setToken(t); start(); }
  });
  $('slack-link').addEventListener('click', slackCode);
  $('forget').addEventListener('click', function () {
    setToken('');
    $('status').hidden = true;
    $('updated').textContent = '';
    start();
  });
  document.addEventListener('visibilitychange', function () { if (!document.hidden && !stopped) refresh(); });
  start();
})();
`;

/**
 * The script as served (and hashed): SOURCE without indentation, whole-line comments and blank
 * lines. Line breaks stay, so the script parses as written (it has no template or multi-line strings).
 */
export const SCRIPT = SOURCE.replace(/^[ \t]+/gm, '').replace(/^\/\/.*\n/gm, '').replace(/\n{2,}/g, '\n');
