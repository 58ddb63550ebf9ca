/**
 * The status dashboard (REQ-335): one page, inline CSS, its script its own module (script.ts,
 * served at GET /dashboard/app.js), nothing from elsewhere.
 *
 * The CSP allows exactly the inline <style> below and the script by their sha256 hashes (computed
 * once at module load); the page names the script's hash as its integrity too, so the browser runs
 * it only if it is exactly that text. No inline event handlers, no style="" attributes.
 */
import { createHash } from 'node:crypto';
import { SCRIPT } from './script.ts';

export { SCRIPT };

/** 'sha256-…' of a text, as CSP and subresource integrity name it. */
export const sha256 = (text: string) => `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;

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
<section aria-labelledby="hooks-title">
<h2 id="hooks-title">Webhooks</h2>
<div class="wrap">
<table id="hooks">
<caption class="sr">Webhook subscriptions: the receiver's host, its events, state and latest deliveries (secrets are never shown)</caption>
<thead><tr><th scope="col">Receiver host</th><th scope="col">Events</th><th scope="col">Environment</th><th scope="col">State</th><th scope="col">Recent deliveries</th></tr></thead>
<tbody id="hooks-body"></tbody>
</table>
</div>
</section>
</div>
</main>
<script src="dashboard/app.js" integrity="${sha256(SCRIPT)}"></script>
</body>
</html>
`;
