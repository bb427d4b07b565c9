// bench/peers/graphile-worker/tasks/fund_request.js: the task a Node team
// would write for graphile-worker: read the order, POST its fund request to
// Mono (bench/run's nginx stub, MONO_API_URL) with the headers and body a
// mono_pay worker sends, and record Mono's answer on the order row. A
// transport error or a 5xx throws: graphile-worker retries the job.
module.exports = async (payload, helpers) => {
  const {
    rows: [order],
  } = await helpers.query(
    "SELECT id, phone, amount, description, reference FROM gw_orders WHERE id = $1",
    [payload.id],
  );
  if (!order) return;
  const res = await fetch(`${process.env.MONO_API_URL}/owo/v1/fund-requests`, {
    method: "POST",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "mono-sec-key": process.env.MONO_SECRET_KEY,
    },
    body: JSON.stringify({
      phone: order.phone,
      reference: order.reference,
      type: "onetime",
      description: order.description,
      amount: Number(order.amount),
      currency: "NGN",
    }),
  });
  const text = await res.text();
  if (res.status >= 500) throw new Error(`Mono answered ${res.status}`);
  let body = {};
  try {
    body = JSON.parse(text);
  } catch (e) {
    // not JSON: recorded as such below
  }
  await helpers.query(
    `UPDATE gw_orders SET status = $2, http_status = $3, redirect_url = $4, answered_at = now()
      WHERE id = $1`,
    [
      order.id,
      res.ok ? "awaiting_authorization" : "failed",
      res.status,
      body.data ? body.data.redirect_url : null,
    ],
  );
};
