// Placeholder: the dashboard helper replaces this with the page.
export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'text/html' }, body: '<!doctype html><title>Stageline</title>' });
