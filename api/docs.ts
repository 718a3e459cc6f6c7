// The human API reference at /docs: Swagger UI rendering /openapi.json, its
// files served from the swagger-ui-dist package on this machine (no CDN).
// Unauthenticated, like /openapi.json: it shows the document, and "Try it out"
// sends the bearer token the reader enters (Authorize) like any other client.
import path from 'node:path';
import express from 'express';

/** The directory of the installed swagger-ui-dist package. */
export const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>etcdfleet API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-initializer.js"></script>
  </body>
</html>
`;

// Replaces the package's initializer, which points at a public demo document.
const INITIALIZER_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    persistAuthorization: false,
  });
};
`;

export function docsRouter(): express.Router {
  const r = express.Router();
  const index = (_req: express.Request, res: express.Response) => {
    res.type('html').send(INDEX_HTML);
  };
  r.get('/', index);
  r.get('/index.html', index);
  r.get('/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(INITIALIZER_JS);
  });
  r.use(express.static(SWAGGER_UI_DIR, { index: false, redirect: false, fallthrough: true }));
  return r;
}
