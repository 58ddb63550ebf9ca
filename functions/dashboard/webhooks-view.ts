/**
 * The dashboard's webhooks view (read-only), a part of the dashboard script (script.ts puts it in):
 * per subscription of the tenant, its id and the receiver's host (never the path or query, which may carry a
 * token; the signing secrets are never in an answer), its event types, its state and the outcomes
 * of its latest deliveries, from GET api/v1/webhooks and GET api/v1/webhooks/{id}/deliveries.
 * Same rules as the rest of the script: String.raw, no backticks or dollar-brace sequences.
 */
export const WEBHOOKS_VIEW = String.raw`
  // Webhook subscriptions: host only, events, active/flagged/disabled, the last deliveries (newest first).
  var RECENT = 5;
  function host(url) { var m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@\/?#]*@)?([^\/?#]+)/i.exec(String(url)); return m ? m[1] : '?'; }
  function hookState(w) { return !w.enabled ? 'disabled' : w.health && w.health.status === 'failing' ? 'flagged' : 'active'; }
  function outcome(d) {
    var last = d.attempts[d.attempts.length - 1];
    var code = !last ? 'not sent yet' : last.statusCode === null ? 'no answer' : 'HTTP ' + last.statusCode;
    var s = el('span', 'badge ' + (d.status === 'delivered' ? 'PASS' : d.status === 'failed' ? 'FAIL' : 'WARN'), [d.status + ' \u00b7 ' + code]);
    s.title = d.eventType + ', ' + d.attempts.length + ' attempt(s), ' + d.createdAt + (d.nextAttemptAt ? ', next try ' + d.nextAttemptAt : '') + ' \u00b7 webhook-id ' + d.id;
    return s;
  }
  function hookRow(w, log) {
    var state = hookState(w), shown = el('span', 'badge ' + (state === 'active' ? 'PASS' : state === 'flagged' ? 'FAIL' : 'SKIPPED'), [state]);
    if (state === 'flagged') shown.title = (w.health.consecutiveFailures || 0) + ' failed deliveries: ' + (w.health.reason || '');
    var where = el('code', '', [host(w.url)]);
    if (w.description) where.title = w.description;
    var recent = log === null ? ['\u2014'] : log.length ? log.map(outcome) : [el('span', 'mut', ['none yet'])];
    return el('tr', '', [el('td', '', [where, el('br'), el('span', 'mut', [w.id])]), el('td', '', [lines(w.events)]), el('td', '', [w.environment || 'all']), el('td', '', [shown]), el('td', '', recent)]);
  }
  function refreshHooks(token) {
    get('api/v1/webhooks', token).then(function (body) {
      if (!body) return;
      var items = body.items || [];
      return Promise.all(items.map(function (w) {
        return get('api/v1/webhooks/' + encodeURIComponent(w.id) + '/deliveries?limit=' + RECENT, token).then(function (d) { return d ? d.items : null; });
      })).then(function (logs) {
        $('hooks-body').replaceChildren.apply($('hooks-body'), items.length ? items.map(function (w, i) { return hookRow(w, logs[i]); }) : [empty(5, 'No webhook subscriptions.')]);
      });
    });
  }
`;
