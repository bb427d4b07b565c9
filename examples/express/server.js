// examples/express/server.js: an endpoint handing Mono's webhooks to
// mono_handle_webhook, with express and node-postgres (npm install express pg).
// PGHOST, PGPORT, PGDATABASE and PGUSER say where; PORT where to listen.
const crypto = require('crypto');
const express = require('express');
const { Pool } = require('pg');

const pool = new Pool();
const app = express();

// The secret as a digest: the header's value never enters SQL text or a log.
function secretDigest(header) {
  return header ? 'sha256:' + crypto.createHash('sha256').update(header).digest('hex') : null;
}

async function main() {
  // express.text() refuses bodies over 100 kB by default: take what
  // mono_pay.webhook_max_size takes (256kB unless configured), no less
  const { rows } = await pool.query("SELECT current_setting('mono_pay.webhook_max_size') AS limit");
  app.post('/mono/webhooks', express.text({ type: '*/*', limit: rows[0].limit }), async (req, res) => {
    try {
      const r = await pool.query('SELECT mono_handle_webhook($1, $2) AS r',
                                 [req.body, secretDigest(req.get('mono-webhook-secret'))]);
      res.status(200).send(r.rows[0].r);          // applied | duplicate | ignored
    } catch (e) {
      // 28000: wrong secret; 22P02 or 54000: not JSON, or too large; else retry later
      res.status(e.code === '28000' ? 401 : e.code === '22P02' || e.code === '54000' ? 400 : 500).end();
    }
  });
  app.listen(Number(process.env.PORT || 8080), '127.0.0.1');
}

main();
