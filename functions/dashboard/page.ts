/**
 * The status dashboard (REQ-335): one self-contained page, inline CSS and
 * vanilla JS, no external URLs. It asks for a bearer token (kept in
 * sessionStorage, or taken from `#token=…` — fragments never reach a server),
 * then polls GET api/v1/status (same origin) every 5 s.
 *
 * The CSP allows exactly the inline <style> and <script> below by their
 * sha256 hashes (computed once at module load, see functions/handlers/dashboard.ts),
 * so: no inline event handlers, no style="" attributes, and the page builds
 * its DOM with textContent only. Written with String.raw: the script must not
 * contain backticks or dollar-brace sequences.
 */
import { UNSAFE_TEXT_SOURCE } from '#domain/display';

export const STYLE = String.raw`
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--mut:#57606a;--line:#d0d7de;--head:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--accent:#0969da;--badge:#fff8c5}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mut:#9198a1;--line:#3d444d;--head:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--accent:#4493f8;--badge:#3b2e00}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
header,main{max-width:72rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem 1.5rem;border-bottom:1px solid var(--line)}
h1{font-size:1.3rem;margin:.8rem 0}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
#updated,.mut{color:var(--mut);font-size:.85rem}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:1rem 0}
input{flex:1 1 20rem;font:inherit;padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.35rem .8rem;border:1px solid var(--line);border-radius:6px;background:var(--head);color:var(--fg);cursor:pointer}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
#msg:empty{display:none}
#msg{padding:.6rem .8rem;border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px}
#msg.err{border-left-color:var(--bad)}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.45rem .6rem;border-bottom:1px solid var(--line)}
thead th{background:var(--head);font-size:.85rem}
ul{margin:0;padding:0;list-style:none}
#pending li{padding:.4rem 0;border-bottom:1px solid var(--line)}
.decide{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin-top:.35rem}.decide input{flex:1 1 12rem}
code,.gates{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.nw{white-space:nowrap}
.gates{letter-spacing:.15em;font-size:1.05em}
.PASS{color:var(--ok)}.FAIL{color:var(--bad);font-weight:700}.WARN{color:var(--warn);font-weight:700}.SKIPPED{color:var(--mut)}
.badge{display:inline-block;margin:0 .3rem .2rem 0;padding:0 .45rem;border:1px solid var(--line);border-radius:1rem;font-size:.78rem;background:var(--badge)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

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
  function refreshKeys(token) {
    fetch('api/v1/app-keys', { headers: { authorization: 'Bearer ' + token, accept: 'application/json' }, cache: 'no-store', credentials: 'omit' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) {
        if (!body) return;
        var items = body.items || [];
        $('keys-body').replaceChildren.apply($('keys-body'), items.length ? items.map(keyRow) : [empty(7, 'No app keys yet.')]);
      })
      .catch(function () { /* the status line reports an unreachable API */ });
  }

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

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Stageline status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Stageline status</h1>
<p id="updated"></p>
</header>
<main>
<form id="token-form" autocomplete="off">
<label for="token">Bearer token</label>
<input id="token" name="token" type="password" spellcheck="false" placeholder="paste a token (kept in this tab only)" aria-describedby="token-help">
<button type="submit">Use token</button>
<button type="button" id="forget">Forget token</button>
<button type="button" id="slack-link">Link my Slack account</button>
<span id="token-help" class="mut">Kept in sessionStorage for this tab; a link ending in #token=… works too.</span>
</form>
<p id="msg" role="alert"></p>
<div id="status" hidden>
<section aria-labelledby="envs-title">
<h2 id="envs-title">Environments</h2>
<div class="wrap">
<table id="envs">
<caption class="sr">Environments in line order: what runs, when and by whom it was promoted, gate results, config snapshot</caption>
<thead><tr><th scope="col">Environment</th><th scope="col">Version(s)</th><th scope="col">Promoted at (UTC)</th><th scope="col">Promoted by</th><th scope="col">Gates</th><th scope="col">Config snapshot</th><th scope="col">State</th></tr></thead>
<tbody id="envs-body"></tbody>
</table>
</div>
<p id="legend" class="mut"></p>
</section>
<section aria-labelledby="pending-title">
<h2 id="pending-title">Pending promotions</h2>
<ul id="pending"></ul>
</section>
<section aria-labelledby="keys-title">
<h2 id="keys-title">App keys</h2>
<div class="wrap">
<table id="keys">
<caption class="sr">Read-only app keys of services: the environment each reads, its status and last use (secrets are never shown)</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Key id</th><th scope="col">Environment</th><th scope="col">Prefix</th><th scope="col">Status</th><th scope="col">Last used (UTC)</th><th scope="col">Created by</th></tr></thead>
<tbody id="keys-body"></tbody>
</table>
</div>
</section>
</div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
