// examples/express/server.js: an endpoint handing Mono's webhooks to
// mono_handle_webhook, with express and node-postgres (npm install express pg).
// PGHOST, PGPORT, PGDATABASE and PGUSER say where; PORT where to listen.
const crypto = require('crypto');
const express = require('express');
const { Pool } = require('pg');

const pool = new Pool();
// A restart of PostgreSQL ends the pool's idle connections: without this
// handler that error would end the program. The pool drops them and
// connects anew at the next query.
pool.on('error', (e) => console.error('idle database connection lost:', e.message));
const app = express();

// What the database verifies instead of the secret: the HMAC-SHA256 of this
// very body keyed with the header's value. A log or pg_stat_activity that
// shows it forges nothing: it fits this body only, and that body again is a
// duplicate. (The text is the one sent to SQL, so both sides hash the same bytes.)
function signature(body, header) {
  return header ? 'hmac-sha256:' + crypto.createHmac('sha256', header).update(body, 'utf8').digest('hex') : null;
}

// express.text() refuses bodies over 100 kB by default: let through what
// mono_pay.webhook_max_size may be set to (16 MB at most); the database
// refuses what is past its own setting (54000)
app.post('/mono/webhooks', express.text({ type: '*/*', limit: '16mb' }), async (req, res) => {
  const body = typeof req.body === 'string' ? req.body : '';
  try {
    const r = await pool.query('SELECT mono_handle_webhook($1, $2) AS r',
                               [body, signature(body, req.get('mono-webhook-secret'))]);
    res.status(200).send(r.rows[0].r);            // applied | duplicate | ignored
  } catch (e) {
    // 28000: wrong secret; 22P02 or 54000: not JSON, or too large; else
    // (the database down or restarting) 503: Mono retries later
    res.status(e.code === '28000' ? 401 : e.code === '22P02' || e.code === '54000' ? 400 : 503).end();
  }
});
app.listen(Number(process.env.PORT || 8080), '127.0.0.1');
