// A client of the public HTTP API (docs/openapi.yaml), as a front end would
// write it: a bearer token, JSON bodies, an Idempotency-Key on every change
// (a new one per action here; a front end that retries an action after a
// network error sends that action's key again and gets the first answer),
// If-Match where the contract takes it, and the contract's error body
// turned into an ApiError.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.field = field;
  }
}

export class Api {
  constructor(base, token) {
    this.base = base.replace(/\/$/, '');
    this.token = token;
  }

  async call(method, path, { body, headers = {}, idempotent = method !== 'GET' } = {}) {
    const h = { Authorization: `Bearer ${this.token}`, ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (idempotent) h['Idempotency-Key'] = crypto.randomUUID();
    let resp;
    try {
      resp = await fetch(this.base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'network_error', e.message);
    }
    if (resp.status === 204) return null;
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
    if (!resp.ok) {
      const err = json?.error ?? {};
      throw new ApiError(resp.status, err.code ?? (json?.message ? 'unauthorized' : 'error'), err.message ?? json?.message ?? text,
        resp.headers.get('Retry-After'), err.field);
    }
    return json;
  }

  listInvoices({ search, status, hasActiveLink, after, limit = 25 } = {}) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (search) q.set('q', search);
    if (status) q.set('status', status);
    if (hasActiveLink) q.set('hasActiveLink', hasActiveLink);
    if (after) q.set('after', after);
    return this.call('GET', `/invoices?${q}`);
  }

  getInvoice(id) { return this.call('GET', `/invoices/${encodeURIComponent(id)}`); }

  putInvoice(id, body, etag) {
    return this.call('PUT', `/invoices/${encodeURIComponent(id)}`, { body, headers: etag ? { 'If-Match': etag } : {} });
  }

  addLink(id) { return this.call('POST', `/invoices/${encodeURIComponent(id)}/payment-link`); }
  regenerateLink(id) { return this.call('POST', `/invoices/${encodeURIComponent(id)}/payment-link/regenerate`); }
  removeLink(id) { return this.call('DELETE', `/invoices/${encodeURIComponent(id)}/payment-link`); }

  sendEmail(id, body) { return this.call('POST', `/invoices/${encodeURIComponent(id)}/emails`, { body }); }
  setReminders(id, paused) { return this.call('PUT', `/invoices/${encodeURIComponent(id)}/reminders`, { body: { paused } }); }

  getCompany(id) { return this.call('GET', `/billing-companies/${encodeURIComponent(id)}`); }
  putCompany(id, body) { return this.call('PUT', `/billing-companies/${encodeURIComponent(id)}`, { body }); }

  listReaders() { return this.call('GET', '/readers'); }
  registerReader(body) { return this.call('POST', '/readers', { body }); }
  deleteReader(id) { return this.call('DELETE', `/readers/${encodeURIComponent(id)}`); }

  startReaderPayment(id, readerId) {
    return this.call('POST', `/invoices/${encodeURIComponent(id)}/reader-payment`, { body: { readerId } });
  }
  cancelReaderPayment(id) { return this.call('DELETE', `/invoices/${encodeURIComponent(id)}/reader-payment`); }
  startReaderRefund(id, body) { return this.call('POST', `/invoices/${encodeURIComponent(id)}/reader-refund`, { body }); }
}

// local calls make dev's own endpoints (same origin as the console).
export async function local(method, path, body) {
  const resp = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = json?.error ?? {};
    throw new ApiError(resp.status, err.code ?? 'error', err.message ?? resp.statusText, resp.headers.get('Retry-After'), err.field);
  }
  return json;
}

// presentCard is Stripe's test helper on the local Stripe's reader: a
// test card presented to it (kind card_present or interac_present). The
// route takes the helper's form, as Stripe's does.
export function presentCard(readerId, kind, number) {
  const form = new URLSearchParams({ type: kind, [`${kind}[number]`]: number });
  return localForm(`/_local/terminal/readers/${encodeURIComponent(readerId)}/present_payment_method`, form);
}

async function localForm(path, form) {
  const resp = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const json = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = json?.error ?? {};
    throw new ApiError(resp.status, err.code ?? 'error', err.message ?? resp.statusText, resp.headers.get('Retry-After'), err.field);
  }
  return json;
}
