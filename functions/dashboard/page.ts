/**
 * The console's page: a shell that loads the console's entry script (a module), its stylesheet and the
 * chunks the entry imports at once (built from console/ by `npm run console`, named by their content hash,
 * loaded with Subresource Integrity); the entry imports the chunks of other views when they are opened.
 * No inline script or style: the Content-Security-Policy allows only this origin's files, and
 * connections to this origin and the sign-in domain (the user pool's, on AWS).
 */
import { CONSOLE_PRELOAD, CONSOLE_SCRIPT, CONSOLE_STYLE } from './assets.generated.ts';

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Stageline</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard/assets/${CONSOLE_STYLE.name}" integrity="${CONSOLE_STYLE.integrity}">
${CONSOLE_PRELOAD.map((c) => `<link rel="modulepreload" href="dashboard/assets/${c.name}" integrity="${c.integrity}">\n`).join('')}<script type="module" src="dashboard/assets/${CONSOLE_SCRIPT.name}" integrity="${CONSOLE_SCRIPT.integrity}"></script>
</head>
<body>
<div id="app"><noscript>The console needs JavaScript. The CLI (npx stageline) does everything the console does.</noscript></div>
</body>
</html>
`;

/** The page's Content-Security-Policy: this origin's script and style only; API calls to this origin, the token call to the sign-in domain. */
export function consoleCsp(loginOrigin: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${loginOrigin ? ` ${loginOrigin}` : ''}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
