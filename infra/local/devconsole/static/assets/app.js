// The staff console: the invoice list, the invoice window (its payment link,
// e-mails and payments), the mailbox and the clinic's settings. Every
// business call goes to the public API (api.js); only the mailbox and the
// local Stripe's simulations use make dev's /_local/ endpoints.

import { Api, local, presentCard } from './api.js';
import { h, field, dialog, showErrors, FieldErrors, uid } from './dom.js';
import { t, lang, setLang, money, date, has } from './i18n.js';
import { explain, placed, Checks } from './forms.js';

const main = document.getElementById('main');
const toast = document.getElementById('toast');
let api;
let session;

// ---------------------------------------------------------------- shell

function say(message, kind = 'ok') {
  toast.className = `toast ${kind}`;
  toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  toast.textContent = message;
}

// act runs a click's work: the button is busy meanwhile, the outcome is
// announced, the view is drawn again.
async function act(button, work, done) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    const result = await work();
    if (done) say(typeof done === 'function' ? done(result) : done);
    await route({ keepFocus: button.dataset.action });
    return result;
  } catch (e) {
    say(explain(e), 'error');
    button.disabled = false;
    button.removeAttribute('aria-busy');
    return null;
  }
}

function translateShell() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-attr]')) {
    const [attr, key] = el.dataset.i18nAttr.split(':');
    el.setAttribute(attr, t(key));
  }
  for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
  document.getElementById('help-link')?.setAttribute('href', `/help/${lang()}`);
}

function heading(text) {
  return h('h1', { tabindex: '-1' }, text);
}

function badge(status) {
  const key = `status.${status}`;
  return h('span', { class: `badge ${status}`, 'data-status': status }, has(key) ? t(key) : status);
}

function show(view, keepFocus) {
  main.replaceChildren(...[view].flat());
  const again = keepFocus && main.querySelector(`[data-action="${keepFocus}"]:not([disabled])`);
  if (again) again.focus();
  else (main.querySelector('h1') ?? main).focus();
}

// ---------------------------------------------------------------- routes

// generation counts routings: a view that arrives after the person moved
// on (two quick clicks) is dropped, never drawn over the newer one.
let generation = 0;

async function route({ keepFocus } = {}) {
  const mine = ++generation;
  const current = () => mine === generation;
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === (parts[0] || 'invoices')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    let view;
    if (parts[0] === 'invoices' && parts[1]) view = await invoiceWindow(parts[1]);
    else if (parts[0] === 'mailbox' && parts[1]) view = await mailView(parts[1]);
    else if (parts[0] === 'mailbox') view = await mailbox();
    else if (parts[0] === 'settings') view = await settings();
    else if (parts[0] === 'readers') view = await readersPage();
    else view = await invoiceList(new URLSearchParams(query));
    if (current()) show(view, keepFocus);
  } catch (e) {
    if (current()) show([heading(t('error.heading')), h('p', { role: 'alert' }, explain(e)), e.code && h('p', { class: 'hint' }, t('error.support', { code: e.code }))]);
  }
}

// ---------------------------------------------------------------- invoice list

const statuses = ['open', 'processing', 'paid', 'partially_refunded', 'refunded', 'disputed', 'dispute_lost'];

async function invoiceList(q) {
  const status = q.get('status') ?? '';
  const link = q.get('hasActiveLink') ?? '';
  const search = q.get('q') ?? '';
  const rows = [];
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'more', hidden: true }, t('invoices.more'));
  let cursor = '';
  async function page() {
    const r = await api.listInvoices({ search, status, hasActiveLink: link, after: cursor });
    for (const inv of r.invoices) {
      rows.push(inv);
      tbody.append(h('tr', { 'data-invoice': inv.id },
        h('th', { scope: 'row' }, h('a', { href: `#/invoices/${encodeURIComponent(inv.id)}` }, inv.number)),
        h('td', {}, inv.patient.name),
        h('td', {}, date(inv.issuedOn)),
        h('td', { class: 'num' }, money(inv.total, inv.currency)),
        h('td', { class: 'num' }, money(inv.balanceDue, inv.currency)),
        h('td', {}, badge(inv.status)),
        h('td', {}, inv.hasActiveLink ? t('invoices.hasLink') : t('invoices.noLink'))));
    }
    cursor = r.nextCursor;
    more.hidden = !r.hasMore;
  }
  more.addEventListener('click', async () => { more.disabled = true; await page().catch((e) => say(explain(e), 'error')); more.disabled = false; });
  await page();

  const filter = (name, value) => {
    const next = new URLSearchParams(q);
    if (value) next.set(name, value); else next.delete(name);
    location.hash = `#/invoices${next.size ? '?' + next : ''}`;
  };
  const statusSelect = h('select', { onchange: (e) => filter('status', e.target.value) },
    h('option', { value: '' }, t('invoices.any')),
    statuses.map((s) => h('option', { value: s, selected: s === status }, t(`status.${s}`))));
  const linkSelect = h('select', { onchange: (e) => filter('hasActiveLink', e.target.value) },
    h('option', { value: '' }, t('invoices.any')),
    h('option', { value: 'true', selected: link === 'true' }, t('invoices.withLink')),
    h('option', { value: 'false', selected: link === 'false' }, t('invoices.withoutLink')));
  // Search by number or patient name (the API ignores case and accents).
  const searchBox = h('input', { type: 'search', name: 'q', value: search, maxlength: 64, autocomplete: 'off',
    onchange: (e) => filter('q', e.target.value.trim()) });

  return [
    h('div', { class: 'titlebar' }, heading(t('invoices.title')),
      h('button', { type: 'button', class: 'primary', 'data-action': 'new-invoice', onclick: newInvoice }, t('invoices.new'))),
    h('fieldset', { class: 'filters' }, h('legend', {}, t('invoices.filters')),
      field(t('invoices.search'), searchBox), field(t('invoices.status'), statusSelect), field(t('invoices.link'), linkSelect)),
    rows.length === 0 ? h('p', {}, t('invoices.none')) :
      h('table', { class: 'invoices' },
        h('caption', {}, t('invoices.caption')),
        h('thead', {}, h('tr', {}, ['invoices.number', 'invoices.patient', 'invoices.issued', 'invoices.total', 'invoices.balance', 'invoices.status', 'invoices.link']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
        tbody),
    more,
  ];
}

async function newInvoice() {
  const today = new Date().toISOString().slice(0, 10);
  const stamp = today.replaceAll('-', '').slice(2) + '-' + String(Date.now() % 100000).padStart(5, '0');
  const number = h('input', { name: 'number', required: true, value: `F-${stamp}`, maxlength: 64, autocomplete: 'off' });
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'off' });
  const language = h('select', { name: 'language' }, h('option', { value: 'fr' }, t('lang.fr')), h('option', { value: 'en', selected: lang() === 'en' }, t('lang.en')));
  const description = h('input', { name: 'description', required: true, value: 'Consultation' });
  const amount = h('input', { name: 'amount', required: true, inputmode: 'decimal', autocomplete: 'off' });
  const due = h('input', { name: 'dueOn', type: 'date' });
  const created = await dialog(t('new.title'), [
    field(t('new.number'), number), field(t('new.patientName'), name), field(t('new.patientEmail'), email),
    field(t('new.language'), language), field(t('new.description'), description),
    field(t('new.amount'), amount, t('new.amountHint')), field(t('new.dueOn'), due),
  ], t('new.create'), t('cancel'), async () => {
    const check = new Checks();
    if (check.required(number).length > 64) check.fail(number, t('invalid.number'));
    check.required(name);
    check.email(email);
    check.required(description);
    const cents = check.money(amount);
    if (due.value && due.value < today) check.fail(due, t('invalid.dueOn'));
    check.done();
    const id = number.value.trim().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
    const body = {
      number: number.value.trim(), currency: 'cad', total: cents, balanceDue: cents, issuedOn: today,
      patient: { name: name.value.trim(), email: email.value.trim(), language: language.value },
      lines: [{ description: description.value.trim(), amount: cents }],
    };
    if (due.value) body.dueOn = due.value;
    await api.putInvoice(id, body).catch((e) => {
      throw placed(e, { number, 'patient.name': name, 'patient.email': email, 'lines[0].description': description,
        'lines[0].amount': amount, total: amount, balanceDue: amount, dueOn: due });
    });
    return { id, number: body.number };
  });
  if (created) {
    say(t('new.created', created));
    location.hash = `#/invoices/${encodeURIComponent(created.id)}`;
  }
}

// ---------------------------------------------------------------- invoice window

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function section(title, ...content) {
  const id = `s-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), content);
}

async function invoiceWindow(id) {
  const inv = await api.getInvoice(id);
  const cur = inv.currency;
  return [
    h('p', {}, h('a', { href: '#/invoices' }, t('back'))),
    h('div', { class: 'titlebar' }, heading(t('invoice.title', { number: inv.number })), badge(inv.status)),
    h('div', { class: 'columns' },
      section(t('invoice.patient'), facts([
        [t('invoice.patient'), inv.patient.name],
        ['E-mail', inv.patient.email],
        [t('invoice.language'), inv.patient.language ? t(`lang.${inv.patient.language}`) : t('lang.default')],
        [t('invoice.issued'), date(inv.issuedOn)],
        [t('invoice.due'), date(inv.dueOn)],
      ])),
      section(t('invoice.balance'), facts([
        [t('invoice.total'), money(inv.total, cur)],
        [t('invoice.balance'), h('strong', { 'data-testid': 'balance' }, money(inv.balanceDue, cur))],
        [t('invoice.netPaid'), money(inv.netPaidOnline, cur)],
        inv.overpaid > 0 && [t('invoice.overpaid'), money(inv.overpaid, cur)],
      ]))),
    section(t('invoice.lines'), h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('invoice.description')), h('th', { scope: 'col', class: 'num' }, t('invoice.amount')))),
      h('tbody', {}, inv.lines.map((l) => h('tr', {}, h('td', {}, l.description), h('td', { class: 'num' }, money(l.amount, cur))))))),
    linkSection(inv),
    deskSection(inv),
    emailsSection(inv),
    remindersSection(inv),
    paymentsSection(inv),
    historySection(inv),
  ];
}

function linkSection(inv) {
  const link = inv.paymentLink;
  const buttons = [];
  let body;
  if (link) {
    const url = h('input', { type: 'text', readonly: true, value: link.url, class: 'url', 'data-testid': 'link-url' });
    const copy = h('button', { type: 'button', 'data-action': 'copy', onclick: async () => {
      try { await navigator.clipboard.writeText(link.url); say(t('link.copied')); } catch { url.select(); document.execCommand('copy'); say(t('link.copied')); }
    } }, t('link.copy'));
    body = [
      h('div', { class: 'urlrow' }, field(t('link.url'), url), copy,
        h('a', { href: link.url, target: '_blank', rel: 'noopener', class: 'button', 'data-testid': 'link-open' }, t('link.open'))),
      facts([[t('link.amount'), money(link.amount, link.currency)], [t('history.created'), date(link.createdAt)]]),
    ];
    const regen = h('button', { type: 'button', 'data-action': 'regenerate', onclick: () => changeLink(inv, 'regenerate') }, t('link.regenerate'));
    const remove = h('button', { type: 'button', class: 'danger', 'data-action': 'remove', onclick: () => changeLink(inv, 'remove') }, t('link.remove'));
    buttons.push(regen, remove);
  } else {
    body = [h('p', {}, t('link.none'))];
    const add = h('button', { type: 'button', class: 'primary', 'data-action': 'add', onclick: () => act(add, () => api.addLink(inv.id), t('link.added')) }, t('link.add'));
    if (inv.paymentLinkBlocked) {
      const b = inv.paymentLinkBlocked;
      const why = h('p', { class: 'blocked', id: 'link-blocked', 'data-code': b.code },
        t('link.blocked', { message: has(`blocked.${b.code}`) ? t(`blocked.${b.code}`) : b.message }));
      add.disabled = true;
      add.setAttribute('aria-describedby', 'link-blocked');
      body.push(why);
    }
    buttons.push(add);
  }
  const send = h('button', { type: 'button', 'data-action': 'send', onclick: () => sendEmail(inv) }, t('email.send'));
  buttons.push(send);
  return section(t('link.title'), body, h('div', { class: 'actions', role: 'group', 'aria-label': t('link.title') }, buttons));
}

// ---------------------------------------------------------------- at the desk

// A reader attempt in one of these statuses may still take the card.
const deskInProgress = ['starting', 'waiting_for_card', 'capturing'];

function deskStatus(at) {
  const key = `desk.status.${at.status}`;
  return has(key) ? t(key) : at.status;
}

// deskReason words why an attempt ended: Stripe's failure code, the
// patient's or staff's cancel, or an API error code.
function deskReason(reason) {
  if (!reason) return '';
  if (has(`desk.reason.${reason}`)) return t(`desk.reason.${reason}`);
  if (has(`err.${reason}`)) return t(`err.${reason}`, { seconds: 1 });
  return t('desk.reason.other', { code: reason });
}

// deskSection is the invoice's payment on a card reader at the front
// desk: its last attempt and the button that starts (or follows) one.
function deskSection(inv) {
  const at = inv.readerPayment;
  const live = at && deskInProgress.includes(at.status);
  const pay = h('button', { type: 'button', class: 'primary', 'data-action': 'pay-desk',
    disabled: !live && inv.balanceDue <= 0,
    onclick: () => (live ? deskLive(inv, at) : payAtDesk(inv)) }, live ? t('desk.follow') : t('desk.pay'));
  return section(t('desk.title'),
    at ? h('p', { 'data-testid': 'desk-last', 'data-status': at.status },
      t('desk.last', { amount: money(at.amount, at.currency), status: deskStatus(at) }),
      at.reason ? ` — ${deskReason(at.reason)}` : '') : h('p', {}, t('desk.none')),
    h('div', { class: 'actions' }, pay));
}

// payAtDesk picks one of the clinic's online, free readers and sends it
// the balance due; then it follows the payment live.
async function payAtDesk(inv) {
  const { readers } = await api.listReaders().catch((e) => { say(explain(e), 'error'); return { readers: null }; });
  if (!readers) return;
  const free = readers.filter((r) => r.status === 'online' && !r.payment);
  const select = h('select', { name: 'readerId', required: true }, free.map((r) => h('option', { value: r.id }, r.label)));
  const body = [
    h('p', {}, t('desk.amount'), ' ', h('strong', { 'data-testid': 'desk-amount' }, money(inv.balanceDue, inv.currency))),
    free.length ? field(t('desk.reader'), select, t('desk.readerHint'))
      : h('p', { class: 'blocked', 'data-testid': 'desk-no-reader' }, t('desk.noReader'), ' ', h('a', { href: '#/readers' }, t('desk.toReaders'))),
  ];
  const at = await dialog(t('desk.title'), body, t('desk.send'), t('cancel'), async () => {
    if (!free.length) throw new Error(t('desk.noReader'));
    return api.startReaderPayment(inv.id, select.value).catch((e) => { throw placed(e); });
  }, about(inv));
  if (!at) return;
  // The window beneath shows the invoice as the attempt left it (its link
  // ended, the desk payment in progress).
  await route({ keepFocus: 'pay-desk' });
  await deskLive(inv, at, free.find((r) => r.id === at.readerId)?.label);
}

// testCards are Stripe's test cards a simulated reader takes (local only).
const testCards = [
  ['approve', 'card_present', '4242424242424242'],
  ['decline', 'card_present', '4000000000000002'],
  ['interac', 'interac_present', '4506445006931933'],
];

// deskLive follows an attempt until it ends: the invoice is read again
// every 1.5 s while the reader may still take the card. Staff may cancel
// it; in the local console, a test card can be presented to the reader.
function deskLive(inv, first, readerLabel) {
  const opener = document.activeElement;
  const titleId = uid('dlg');
  const state = h('p', { class: 'desk-state', role: 'status', 'aria-live': 'polite', 'data-testid': 'desk-status' });
  const reason = h('p', { class: 'desk-reason', 'data-testid': 'desk-reason' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const cancel = h('button', { type: 'button', class: 'danger', 'data-action': 'desk-cancel', onclick: () => cancelDesk() }, t('desk.cancel'));
  const close = h('button', { type: 'button', 'data-action': 'desk-close', onclick: () => dlg.close() }, t('close'));
  const cards = testCards.map(([key, kind, number]) => h('button', { type: 'button', 'data-action': `card-${key}`,
    onclick: (e) => presentTest(e.currentTarget, kind, number) }, t(`desk.card.${key}`)));
  const sims = h('div', { class: 'actions sim', role: 'group', 'aria-label': t('desk.cards') }, h('span', { class: 'simlabel' }, t('desk.cards')), cards);
  const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'desk' },
    h('h2', { id: titleId }, t('desk.title')), h('p', { class: 'dialog-about' }, about(inv)),
    facts([[t('desk.reader'), readerLabel ?? h('code', {}, first.readerId)],
      [t('desk.amount'), h('strong', { 'data-testid': 'desk-amount' }, money(first.amount, first.currency))]]),
    state, reason, sims, err, h('div', { class: 'actions' }, cancel, close));
  let timer = null;
  let at = first;
  function draw() {
    const going = deskInProgress.includes(at.status);
    state.textContent = deskStatus(at);
    state.dataset.status = at.status;
    state.className = `desk-state ${at.status}`;
    reason.textContent = deskReason(at.reason);
    cancel.hidden = !going;
    sims.hidden = at.status !== 'waiting_for_card';
    if (!going && timer) { clearInterval(timer); timer = null; }
    if (!going && (document.activeElement === cancel || cards.includes(document.activeElement) || document.activeElement === document.body)) close.focus();
  }
  async function poll() {
    try {
      const now = await api.getInvoice(inv.id);
      // An answer older than what is shown (a poll that crossed a cancel)
      // is dropped: the status never goes back.
      const next = now.readerPayment;
      if (next && next.id === at.id && Date.parse(next.updatedAt) >= Date.parse(at.updatedAt)) { at = next; draw(); }
    } catch (e) { err.textContent = explain(e); }
  }
  async function cancelDesk() {
    err.textContent = '';
    cancel.disabled = true;
    try { at = await api.cancelReaderPayment(inv.id); draw(); } catch (e) { err.textContent = explain(e); await poll(); }
    cancel.disabled = false;
  }
  async function presentTest(button, kind, number) {
    err.textContent = '';
    button.disabled = true;
    try { await presentCard(at.readerId, kind, number); await poll(); } catch (e) { err.textContent = explain(e); }
    button.disabled = false;
  }
  return showLive(dlg, opener, 'pay-desk', () => {
    if (timer) clearInterval(timer);
    return at;
  }, () => {
    draw();
    if (deskInProgress.includes(at.status)) timer = setInterval(poll, 1500);
    (sims.hidden ? close : cards[0]).focus();
  });
}

// showLive opens a dialog that follows something live: Back closes it;
// once closed, ended() stops its polling and gives its last state, the
// focus goes back to the opener and the window is drawn again (the focus
// kept on keepFocus); opened() draws it and starts the polling.
function showLive(dlg, opener, keepFocus, ended, opened) {
  document.body.append(dlg);
  const leave = () => { if (dlg.open) dlg.close(); };
  window.addEventListener('hashchange', leave);
  window.addEventListener('popstate', leave);
  return new Promise((resolve) => {
    dlg.addEventListener('close', async () => {
      const last = ended();
      window.removeEventListener('hashchange', leave);
      window.removeEventListener('popstate', leave);
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      await route({ keepFocus });
      resolve(last);
    });
    dlg.showModal();
    opened();
  });
}

// about names the invoice a dialog acts on.
function about(inv) {
  return t('dialog.about', { number: inv.number, patient: inv.patient.name });
}

// changeLink generates a new link or removes it, once staff have read
// what happens to the e-mails already sent with the current one; then it
// offers to send the invoice again.
async function changeLink(inv, kind) {
  const link = inv.paymentLink;
  const sent = inv.emails.filter((e) => e.paymentLinkId === link.id).length;
  const what = [h('p', {}, t(`confirm.${kind}.what`, { amount: money(link.amount, link.currency) })),
    h('p', { 'data-testid': 'confirm-emails' }, sent === 0 ? t('confirm.noEmails') : t('confirm.emails', { count: sent }))];
  const done = await dialog(t(`confirm.${kind}.title`), what, t(`link.${kind}`), t('cancel'),
    () => (kind === 'regenerate' ? api.regenerateLink(inv.id) : api.removeLink(inv.id)).then(() => true)
      .catch((e) => { throw placed(e); }), about(inv));
  if (!done) return;
  await route({ keepFocus: 'send' });
  say(t(kind === 'regenerate' ? 'link.regenerated' : 'link.removed'));
  const resend = await dialog(t('resend.title'), h('p', {}, t(`resend.${kind}`)), t('resend.yes'), t('resend.no'),
    async () => true, about(inv));
  if (resend) await sendEmail(await api.getInvoice(inv.id), { includeLink: kind === 'regenerate' });
}

async function sendEmail(inv, { includeLink } = {}) {
  const to = h('input', { type: 'email', required: true, value: inv.patient.email, autocomplete: 'off' });
  const language = h('select', {},
    h('option', { value: '' }, t('lang.default')),
    ['fr', 'en'].map((l) => h('option', { value: l, selected: l === inv.patient.language }, t(`lang.${l}`))));
  const include = h('input', { type: 'checkbox', checked: includeLink ?? (Boolean(inv.paymentLink) || !inv.paymentLinkBlocked) });
  const message = h('textarea', { rows: 4, maxlength: 1000 });
  const sent = await dialog(t('email.title'), [
    field(t('email.to'), to), field(t('email.language'), language),
    h('div', { class: 'field check' }, include, h('label', { for: include.id = 'include-link' }, t('email.includeLink'))),
    field(t('email.message'), message, t('email.messageHint')),
  ], t('email.submit'), t('cancel'), async () => {
    const check = new Checks();
    check.email(to);
    if (message.value.trim().length > 1000) check.fail(message, t('invalid.message'));
    check.done();
    const body = { includePaymentLink: include.checked };
    if (to.value.trim() !== inv.patient.email) body.to = to.value.trim();
    if (language.value) body.language = language.value;
    if (message.value.trim()) body.message = message.value.trim();
    return api.sendEmail(inv.id, body).catch((e) => { throw placed(e, { to, message, language }); });
  }, about(inv));
  if (sent) {
    await route({ keepFocus: 'send' });
    say(t('email.sent', { to: sent.to }));
  }
}

function emailsSection(inv) {
  const pending = inv.pendingEmails.length === 0 ? null : h('div', { class: 'pending' },
    h('h3', {}, t('emails.pending')),
    h('ul', {}, inv.pendingEmails.map((p) => h('li', { 'data-pending': p.key },
      `${t(`kind.${p.kind}`)} — ${p.inFlight ? t('emails.inFlight') : t('emails.queued')} (${date(p.since)})`))));
  if (inv.emails.length === 0) return section(t('emails.title'), h('p', {}, t('emails.none')), pending);
  const statusText = (e) => {
    const s = has(`emails.${e.status}`) ? t(`emails.${e.status}`) : e.status;
    return e.bounceType ? `${s} (${t(`bounce.${e.bounceType}`)})` : s;
  };
  return section(t('emails.title'), pending, h('table', { class: 'emails' },
    h('thead', {}, h('tr', {}, ['emails.sentAt', 'emails.kind', 'emails.to', 'emails.language', 'emails.link', 'emails.status'].map((k) => h('th', { scope: 'col' }, t(k))), h('td', {}))),
    h('tbody', {}, inv.emails.map((e) => h('tr', { 'data-email-kind': e.kind, 'data-email-status': e.status },
      h('td', {}, date(e.sentAt)),
      h('td', {}, t(`kind.${e.kind}`), e.step ? ` (${stepText(e.step)})` : '', e.pdf ? ' · PDF' : ''),
      h('td', {}, e.to), h('td', {}, t(`lang.${e.language}`)),
      h('td', {}, e.paymentLinkId ? h('code', {}, e.paymentLinkId) : '—'),
      h('td', { class: `status-${e.status}` }, statusText(e)),
      h('td', {}, e.messageId ? h('a', { href: `#/mailbox/${encodeURIComponent(e.messageId)}` }, t('email.open')) : ''))))));
}

// stepText writes a reminder step: before-3 → "3 jours avant l'échéance".
function stepText(step) {
  const [when, days] = step.split('-');
  return t(when === 'before' ? 'step.before' : 'step.after', { days });
}

function remindersSection(inv) {
  const r = inv.reminders;
  const button = h('button', { type: 'button', 'data-action': r.paused ? 'resume-reminders' : 'pause-reminders',
    onclick: () => act(button, () => api.setReminders(inv.id, !r.paused), r.paused ? t('reminders.resumed') : t('reminders.paused')) },
  r.paused ? t('reminders.resume') : t('reminders.pause'));
  let state;
  if (r.paused) state = t('reminders.isPaused');
  else if (r.next) state = t('reminders.next', { step: stepText(r.next.step), at: date(r.next.at) });
  else if (r.blocked) state = t(`reminders.blocked.${r.blocked}`);
  else state = r.plan.length ? t('reminders.allDone') : t('reminders.none');
  return section(t('reminders.title'),
    h('p', { 'data-testid': 'reminders-state' }, state),
    // A plan blocked for the invoice's sake (nothing due, a bounced
    // address…) sends nothing: its dates would read as promises, so they
    // are listed only when it goes or is merely paused.
    r.plan.length > 0 && (!r.blocked || r.paused) && h('ul', { class: 'plan' }, r.plan.map((st) => h('li', {}, `${stepText(st.step)} — ${date(st.at)}`, st.done ? ` ✓` : ''))),
    h('div', { class: 'actions' }, button));
}

function paymentsSection(inv) {
  if (inv.payments.length === 0) return section(t('payments.title'), h('p', {}, t('payments.none')));
  return section(t('payments.title'), inv.payments.map((p) => {
    const status = p.status;
    const sims = [];
    const sim = (key, action, work) => {
      const b = h('button', { type: 'button', 'data-action': `${action}-${p.paymentIntentId}`, onclick: () => act(b, work, (r) => t('sim.done', { events: r.deliveries.map((d) => `${d.type} → ${d.outcome || d.status}`).join(', ') })) }, t(key));
      sims.push(b);
    };
    const pi = encodeURIComponent(p.paymentIntentId);
    if (status === 'processing') {
      sim('sim.clear', 'clear', () => local('POST', `/_local/stripe/payments/${pi}/settle`, { outcome: 'succeeded' }));
      sim('sim.fail', 'fail', () => local('POST', `/_local/stripe/payments/${pi}/settle`, { outcome: 'failed' }));
    }
    if (status === 'succeeded' || status === 'needs_review') {
      const left = p.amount - p.refunded;
      // Stripe refunds Interac on a reader only (Refund at the desk).
      if (left > 0 && p.method?.type !== 'interac_present') {
        const b = h('button', { type: 'button', 'data-action': `refund-${p.paymentIntentId}`, onclick: () => refund(b, p, inv) }, t('sim.refund'));
        sims.push(b);
      }
      const open = p.disputes.find((d) => d.open);
      if (!p.disputes.length) sim('sim.disputeOpen', 'dispute-open', () => local('POST', `/_local/stripe/payments/${pi}/dispute`, { action: 'open' }));
      if (open) {
        sim('sim.disputeWon', 'dispute-won', () => local('POST', `/_local/stripe/payments/${pi}/dispute`, { action: 'won' }));
        sim('sim.disputeLost', 'dispute-lost', () => local('POST', `/_local/stripe/payments/${pi}/dispute`, { action: 'lost' }));
      }
    }
    const statusText = has(`paystatus.${status}`) ? t(`paystatus.${status}`) : status;
    const desk = deskRefundFacts(inv, p);
    return h('article', { class: 'payment', 'data-payment': p.paymentIntentId, 'data-status': status },
      h('h3', {}, money(p.amount, p.currency), ' — ', statusText, p.reason ? ` (${p.reason})` : ''),
      facts([
        [t('payments.reference'), h('code', {}, p.paymentIntentId || p.sessionId)],
        p.channel && [t('payments.channel'), h('span', { 'data-testid': 'channel' }, has(`channel.${p.channel}`) ? t(`channel.${p.channel}`) : p.channel)],
        p.method && [t('payments.method'), h('span', { 'data-testid': 'method' }, methodText(p.method))],
        p.paidAt && [t('payments.paidAt'), date(p.paidAt)],
        p.chargedCurrency && [t('payments.charged'), money(p.chargedAmount, p.chargedCurrency)],
        [t('payments.refunded'), h('span', { 'data-testid': 'refunded' }, money(p.refunded, p.currency))],
        p.refunds.length > 0 && [t('payments.refunds'), h('ul', {}, p.refunds.map((r) => h('li', {}, money(r.amount, p.currency), ` — ${r.status}`)))],
        p.disputes.length > 0 && [t('payments.disputes'), h('ul', {}, p.disputes.map((d) => h('li', {}, money(d.amount, p.currency), ` — ${d.status}`)))],
        desk.fact,
      ]),
      desk.actions,
      sims.length > 0 && h('div', { class: 'actions sim', role: 'group', 'aria-label': t('sim.title') }, h('span', { class: 'simlabel' }, t('sim.title')), sims));
  }));
}

// methodText is how a payment was made: the kind, the brand and the
// last four digits (all the API ever gives).
function methodText(m) {
  const kind = has(`method.${m.type}`) ? t(`method.${m.type}`) : m.type;
  const brand = m.brand ? ` ${m.brand.charAt(0).toUpperCase()}${m.brand.slice(1)}` : '';
  return `${kind}${brand}${m.last4 ? ` •••• ${m.last4}` : ''}`;
}

async function refund(button, p, inv) {
  const left = p.amount - p.refunded;
  const amount = h('input', { inputmode: 'decimal', required: true, autocomplete: 'off', value: money(left, p.currency).replace(/[^\d.,]/g, '') });
  const r = await dialog(t('refund.title'), [field(t('refund.amount'), amount, t('refund.hint', { max: money(left, p.currency) }))],
    t('refund.submit'), t('cancel'), async () => {
      const check = new Checks();
      const cents = check.money(amount, left, money(left, p.currency));
      check.done();
      return local('POST', `/_local/stripe/payments/${encodeURIComponent(p.paymentIntentId)}/refund`, { amount: cents })
        .catch((e) => { throw placed(e, { amount }); });
    }, about(inv));
  if (r) {
    await route({ keepFocus: button.dataset.action });
    say(t('sim.done', { events: r.deliveries.map((d) => `${d.type} → ${d.outcome || d.status}`).join(', ') }));
  }
}

// ---------------------------------------------------------------- refund at the desk

// An Interac payment taken at the desk is refunded on a reader only (the
// card presented again); a refund attempt in one of these statuses still
// holds the reader.
const refundInProgress = ['starting', 'waiting_for_card'];

function refundStatus(r) {
  const key = `deskRefund.status.${r.status}`;
  return has(key) ? t(key) : r.status;
}

// deskRefundFacts is what a payment's card shows of refunds at the desk:
// the last one asked of a reader, and the button that asks one (or
// follows the one in progress).
function deskRefundFacts(inv, p) {
  if (p.channel !== 'in_person' || p.method?.type !== 'interac_present' || p.status !== 'succeeded') return {};
  const last = inv.readerRefund?.paymentIntentId === p.paymentIntentId ? inv.readerRefund : null;
  const live = last && refundInProgress.includes(last.status);
  const left = p.amount - p.refunded;
  const button = h('button', { type: 'button', 'data-action': `refund-desk-${p.paymentIntentId}`, disabled: !live && left <= 0,
    onclick: () => (live ? refundLive(inv, last) : refundAtDesk(button, inv, p)) }, live ? t('deskRefund.follow') : t('deskRefund.start'));
  return {
    fact: last && [t('deskRefund.last'), h('span', { 'data-testid': 'desk-refund-last', 'data-status': last.status },
      `${money(last.amount, last.currency)} — ${refundStatus(last)}`, last.reason ? ` (${deskReason(last.reason)})` : '')],
    actions: h('div', { class: 'actions' }, button),
  };
}

// refundAtDesk asks one of the clinic's online, free readers to refund
// part or all of the payment, then follows it live.
async function refundAtDesk(button, inv, p) {
  const { readers } = await api.listReaders().catch((e) => { say(explain(e), 'error'); return { readers: null }; });
  if (!readers) return;
  const free = readers.filter((r) => r.status === 'online' && !r.payment);
  const left = p.amount - p.refunded;
  const select = h('select', { name: 'readerId', required: true }, free.map((r) => h('option', { value: r.id }, r.label)));
  const amount = h('input', { name: 'amount', inputmode: 'decimal', required: true, autocomplete: 'off', value: money(left, p.currency).replace(/[^\d.,]/g, '') });
  const body = [
    h('p', {}, t('deskRefund.intro')),
    free.length ? field(t('desk.reader'), select, t('desk.readerHint'))
      : h('p', { class: 'blocked', 'data-testid': 'desk-no-reader' }, t('desk.noReader'), ' ', h('a', { href: '#/readers' }, t('desk.toReaders'))),
    field(t('refund.amount'), amount, t('refund.hint', { max: money(left, p.currency) })),
  ];
  const r = await dialog(t('deskRefund.title'), body, t('deskRefund.send'), t('cancel'), async () => {
    const check = new Checks();
    const cents = check.money(amount, left, money(left, p.currency));
    check.done();
    if (!free.length) throw new Error(t('desk.noReader'));
    return api.startReaderRefund(inv.id, { readerId: select.value, paymentIntentId: p.paymentIntentId, amount: cents })
      .catch((e) => { throw placed(e, { amount, readerId: select }); });
  }, about(inv));
  if (!r) return;
  await route({ keepFocus: button.dataset.action });
  await refundLive(inv, r, free.find((x) => x.id === r.readerId)?.label);
}

// refundLive follows a refund on a reader until it ends: the invoice is
// read again every 1.5 s while the reader waits for the card; in the local
// console the Interac test card can be presented to it.
function refundLive(inv, first, readerLabel) {
  const opener = document.activeElement;
  const titleId = uid('dlg');
  const state = h('p', { class: 'desk-state', role: 'status', 'aria-live': 'polite', 'data-testid': 'desk-refund-status' });
  const reason = h('p', { class: 'desk-reason', 'data-testid': 'desk-refund-reason' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const close = h('button', { type: 'button', 'data-action': 'desk-refund-close', onclick: () => dlg.close() }, t('close'));
  const card = h('button', { type: 'button', 'data-action': 'refund-card', onclick: () => presentTest() }, t('deskRefund.card'));
  const sims = h('div', { class: 'actions sim', role: 'group', 'aria-label': t('desk.cards') }, h('span', { class: 'simlabel' }, t('desk.cards')), card);
  const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'desk' },
    h('h2', { id: titleId }, t('deskRefund.title')), h('p', { class: 'dialog-about' }, about(inv)),
    facts([[t('desk.reader'), readerLabel ?? h('code', {}, first.readerId)],
      [t('deskRefund.amount'), h('strong', { 'data-testid': 'desk-refund-amount' }, money(first.amount, first.currency))]]),
    state, reason, sims, err, h('div', { class: 'actions' }, close));
  let timer = null;
  let r = first;
  function draw() {
    const going = refundInProgress.includes(r.status);
    state.textContent = refundStatus(r);
    state.dataset.status = r.status;
    state.className = `desk-state ${r.status}`;
    reason.textContent = deskReason(r.reason);
    sims.hidden = r.status !== 'waiting_for_card';
    if (!going && timer) { clearInterval(timer); timer = null; }
    if (!going && (document.activeElement === card || document.activeElement === document.body)) close.focus();
  }
  async function poll() {
    try {
      const next = (await api.getInvoice(inv.id)).readerRefund;
      if (next && next.id === r.id && Date.parse(next.updatedAt) >= Date.parse(r.updatedAt)) { r = next; draw(); }
    } catch (e) { err.textContent = explain(e); }
  }
  async function presentTest() {
    err.textContent = '';
    card.disabled = true;
    try { await presentCard(r.readerId, 'interac_present', '4506445006931933'); await poll(); } catch (e) { err.textContent = explain(e); }
    card.disabled = false;
  }
  return showLive(dlg, opener, `refund-desk-${first.paymentIntentId}`, () => {
    if (timer) clearInterval(timer);
    return r;
  }, () => {
    draw();
    if (refundInProgress.includes(r.status)) timer = setInterval(poll, 1500);
    (sims.hidden ? close : card).focus();
  });
}

function historySection(inv) {
  if (inv.links.length === 0) return section(t('history.title'), h('p', {}, t('history.none')));
  return section(t('history.title'), h('table', { class: 'history' },
    h('thead', {}, h('tr', {}, ['history.created', 'history.link', 'history.status', 'history.reason', 'history.ended'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, [...inv.links].reverse().map((l) => h('tr', { 'data-link': l.id, 'data-status': l.status },
      h('td', {}, date(l.createdAt)), h('td', {}, h('code', { title: l.url }, l.id)),
      h('td', {}, has(`linkstatus.${l.status}`) ? t(`linkstatus.${l.status}`) : l.status),
      h('td', {}, l.reason ?? ''), h('td', {}, l.endedAt ? date(l.endedAt) : '—'))))));
}

// ---------------------------------------------------------------- mailbox

async function mailbox() {
  const r = await local('GET', '/_local/mailbox');
  return [
    heading(t('mailbox.title')),
    r.emails.length === 0 ? h('p', {}, t('mailbox.none')) :
      h('table', { class: 'mailbox' },
        h('thead', {}, h('tr', {}, ['mailbox.subject', 'mailbox.to', 'mailbox.at'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, r.emails.map((m) => h('tr', { 'data-message': m.messageId },
          h('th', { scope: 'row' }, h('a', { href: `#/mailbox/${encodeURIComponent(m.messageId)}` }, m.subject)),
          h('td', {}, m.to.join(', ')), h('td', {}, date(m.at)))))),
  ];
}

async function mailView(id) {
  const m = await local('GET', `/_local/mailbox/${encodeURIComponent(id)}`);
  // The e-mail's HTML runs no script (sandbox) and its links open a tab;
  // without scripts, its own origin is harmless and lets the console (and
  // its browser test) read the message.
  const frame = h('iframe', { sandbox: 'allow-popups allow-popups-to-escape-sandbox allow-same-origin', title: t('mailbox.frame', { subject: m.subject }), class: 'mail' });
  frame.srcdoc = `<base target="_blank">${m.body.html ?? ''}`;
  return [
    h('p', {}, h('a', { href: '#/mailbox' }, t('mailbox.back'))),
    heading(m.subject),
    facts([
      [t('mailbox.from'), m.from], [t('mailbox.to'), m.destination.to.join(', ')],
      m.replyTo?.length > 0 && [t('mailbox.replyTo'), m.replyTo.join(', ')], [t('mailbox.at'), date(new Date(m.at * 1000).toISOString())],
      m.attachments?.length > 0 && [t('mailbox.attachments'), m.attachments.map((a) => {
        const bytes = Uint8Array.from(atob(a.content ?? ''), (ch) => ch.charCodeAt(0));
        const href = URL.createObjectURL(new Blob([bytes], { type: a.contentType }));
        return h('a', { href, download: a.filename ?? 'attachment', 'data-testid': 'attachment' }, `${a.filename ?? a.contentType} (${Math.ceil(a.size / 1024)} Kio)`);
      })],
    ]),
    section(t('mailbox.html'), frame),
    section(t('mailbox.text'), h('pre', { class: 'text' }, m.body.text ?? '')),
    h('details', {}, h('summary', {}, t('mailbox.headers')),
      h('table', { class: 'headers' }, h('tbody', {}, (m.headers ?? []).map((x) => h('tr', {}, h('th', { scope: 'row' }, x.name), h('td', {}, x.value)))))),
  ];
}

// ---------------------------------------------------------------- settings

async function settings() {
  const c = await api.getCompany(session.companyId);
  const name = h('input', { required: true, value: c.name, autocomplete: 'organization' });
  const reply = h('input', { type: 'email', required: true, value: c.replyToEmail, autocomplete: 'email' });
  const language = h('select', {}, ['fr', 'en'].map((l) => h('option', { value: l, selected: l === c.defaultLanguage }, t(`lang.${l}`))));
  const receipts = h('input', { type: 'checkbox', checked: c.sendReceipts, id: 'set-receipts' });
  const pdf = h('input', { type: 'checkbox', checked: c.attachPdf, id: 'set-pdf' });
  const detail = h('select', {}, ['lines', 'summary'].map((d) => h('option', { value: d, selected: d === c.emailDetail }, t(`detail.${d}`))));
  const before = h('input', { value: c.reminders.beforeDue.join(', '), inputmode: 'numeric', autocomplete: 'off' });
  const after = h('input', { value: c.reminders.afterDue.join(', '), inputmode: 'numeric', autocomplete: 'off' });
  const withLink = h('input', { type: 'checkbox', checked: c.reminders.includePaymentLink, id: 'set-reminder-link' });
  const address = addressFields(c.address);
  const save = h('button', { type: 'submit', class: 'primary', 'data-action': 'save' }, t('settings.save'));
  const check = (input, label) => h('div', { class: 'field check' }, input, h('label', { for: input.id }, label));
  const form = h('form', { class: 'settings', novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const check = new Checks();
    check.required(name);
    check.email(reply);
    const beforeDue = check.days(before, 3, 30);
    const afterDue = check.days(after, 6, 120);
    const addr = address.read(check);
    showErrors(form, check.errors);
    if (check.errors.size > 0) { say(t('form.fix'), 'error'); return; }
    act(save, () => api.putCompany(c.id, {
      name: name.value.trim(), replyToEmail: reply.value.trim(), defaultLanguage: language.value,
      sendReceipts: receipts.checked, attachPdf: pdf.checked, emailDetail: detail.value,
      reminders: { beforeDue, afterDue, includePaymentLink: withLink.checked },
      ...(addr && { address: addr }),
    }).catch((x) => {
      const err = placed(x, { name, replyToEmail: reply, 'reminders.beforeDue': before, 'reminders.afterDue': after, ...address.controls });
      if (err instanceof FieldErrors) showErrors(form, err.errors);
      throw err;
    }), t('settings.saved'));
  } },
  field(t('settings.name'), name), field(t('settings.replyTo'), reply), field(t('settings.language'), language),
  h('fieldset', {}, h('legend', {}, t('settings.emails')),
    check(receipts, t('settings.receipts')), check(pdf, t('settings.pdf')),
    field(t('settings.detail'), detail, t('settings.detailHint'))),
  h('fieldset', {}, h('legend', {}, t('settings.reminders')),
    field(t('settings.beforeDue'), before, t('settings.daysHint', { most: 3, max: 30 })),
    field(t('settings.afterDue'), after, t('settings.daysHint', { most: 6, max: 120 })),
    check(withLink, t('settings.reminderLink'))),
  address.fieldset,
  save);
  const yesNo = (b) => (b ? t('yes') : t('no'));
  return [
    heading(t('settings.title')),
    form,
    section(t('settings.stripe'), c.stripeAccountId ? facts([
      [t('settings.account'), h('code', {}, c.stripeAccountId)],
      [t('settings.charges'), yesNo(c.chargesEnabled)], [t('settings.details'), yesNo(c.detailsSubmitted)],
      [t('settings.country'), c.country ?? '—'], [t('settings.currency'), (c.defaultCurrency ?? '—').toUpperCase()],
    ]) : h('p', {}, t('settings.notConnected')),
    c.warnings.length > 0 && [h('h3', {}, t('settings.warnings')), h('ul', {}, c.warnings.map((w) => h('li', {}, h('code', {}, w))))],
    c.warnings.includes('charges_not_enabled') && h('p', { class: 'hint' }, t('settings.devWarning'))),
  ];
}

// addressFields is the clinic's address in the settings form: what Stripe
// needs for its Terminal Location (the readers). Empty is no address.
function addressFields(a) {
  const input = (name, value, attrs = {}) => h('input', { name: `address.${name}`, value: value ?? '', autocomplete: 'off', ...attrs });
  const controls = {
    'address.line1': input('line1', a?.line1, { autocomplete: 'address-line1', maxlength: 200 }),
    'address.line2': input('line2', a?.line2, { autocomplete: 'address-line2', maxlength: 200 }),
    'address.city': input('city', a?.city, { autocomplete: 'address-level2', maxlength: 100 }),
    'address.state': input('state', a?.state ?? 'QC', { autocomplete: 'address-level1', maxlength: 2, size: 4 }),
    'address.postalCode': input('postalCode', a?.postalCode, { autocomplete: 'postal-code', maxlength: 10, size: 10 }),
    'address.country': h('select', { name: 'address.country', autocomplete: 'country' },
      ['CA', 'US'].map((k) => h('option', { value: k, selected: k === (a?.country ?? 'CA') }, t(`country.${k}`)))),
  };
  const c = controls;
  const fieldset = h('fieldset', { class: 'address' }, h('legend', {}, t('settings.address')),
    h('p', { class: 'hint' }, t('settings.addressHint')),
    field(t('address.line1'), c['address.line1']), field(t('address.line2'), c['address.line2']),
    field(t('address.city'), c['address.city']),
    h('div', { class: 'row' }, field(t('address.state'), c['address.state'], t('address.stateHint')),
      field(t('address.postalCode'), c['address.postalCode']), field(t('address.country'), c['address.country'])));
  // read checks the address; null when it is left empty (none yet).
  function read(check) {
    const v = (k) => c[`address.${k}`].value.trim();
    if (!a && !v('line1') && !v('line2') && !v('city') && !v('postalCode')) return null;
    for (const k of ['line1', 'city', 'state', 'postalCode']) check.required(c[`address.${k}`]);
    const out = { line1: v('line1'), city: v('city'), state: v('state').toUpperCase(), postalCode: v('postalCode'), country: c['address.country'].value };
    if (v('line2')) out.line2 = v('line2');
    return out;
  }
  return { fieldset, controls, read };
}

// ---------------------------------------------------------------- readers

// readersPage lists the clinic's Stripe Terminal readers (label, status,
// the invoice each is taking), registers one by the code it shows
// (simulated-wpe: a simulated reader, in Stripe's test mode) and deletes
// one.
async function readersPage() {
  const [{ readers }, company] = await Promise.all([api.listReaders(), api.getCompany(session.companyId)]);
  const label = h('input', { name: 'label', required: true, maxlength: 64, autocomplete: 'off', value: readers.length ? '' : t('readers.firstLabel') });
  const code = h('input', { name: 'registrationCode', required: true, maxlength: 100, autocomplete: 'off', value: 'simulated-wpe' });
  const add = h('button', { type: 'submit', class: 'primary', 'data-action': 'register' }, t('readers.register'));
  const form = h('form', { class: 'register', novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const check = new Checks();
    check.required(label);
    check.required(code);
    showErrors(form, check.errors);
    if (check.errors.size > 0) { say(t('form.fix'), 'error'); return; }
    act(add, () => api.registerReader({ registrationCode: code.value.trim(), label: label.value.trim() }).catch((x) => {
      if (x.code === 'limit_reached') throw new Error(t('readers.limit', { max: 50 })); // the code's wording speaks of links
      const err = placed(x, { label, registrationCode: code });
      if (err instanceof FieldErrors) showErrors(form, err.errors);
      throw err;
    }), (r) => t('readers.registered', { label: r.label }));
  } },
  field(t('readers.label'), label, t('readers.labelHint')), field(t('readers.code'), code, t('readers.codeHint')), add);
  const rows = readers.map((r) => h('tr', { 'data-reader': r.id, 'data-status': r.status },
    h('th', { scope: 'row' }, r.label),
    h('td', {}, h('span', { class: `badge reader-${r.status}` }, t(`readers.${r.status}`))),
    h('td', {}, r.payment ? h('a', { href: `#/invoices/${encodeURIComponent(r.payment.invoiceId)}` }, t('readers.taking', { invoice: r.payment.invoiceId })) : t('readers.free')),
    h('td', {}, h('code', {}, r.deviceType)),
    h('td', {}, h('code', {}, r.id)),
    h('td', {}, h('button', { type: 'button', class: 'danger', 'data-action': `delete-${r.id}`, disabled: !!r.payment,
      title: r.payment ? t('err.reader_busy') : undefined, onclick: (e) => deleteReader(e.currentTarget, r) }, t('readers.delete')))));
  return [
    heading(t('readers.title')),
    h('p', { class: 'hint' }, t('readers.intro')),
    !company.address && h('p', { class: 'blocked', role: 'note', 'data-testid': 'address-needed' }, t('readers.addressNeeded'), ' ',
      h('a', { href: '#/settings' }, t('readers.toSettings'))),
    readers.length === 0 ? h('p', {}, t('readers.none')) :
      h('table', { class: 'readers' }, h('caption', {}, t('readers.caption', { n: readers.length, max: 50 })),
        h('thead', {}, h('tr', {}, ['readers.label', 'readers.status', 'readers.payment', 'readers.device', 'readers.id', 'readers.actions']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, rows)),
    section(t('readers.add'), form),
  ].filter(Boolean);
}

async function deleteReader(button, r) {
  const ok = await dialog(t('readers.confirmTitle'), h('p', {}, t('readers.confirmText')), t('readers.delete'), t('cancel'),
    async () => true, r.label);
  if (ok) act(button, () => api.deleteReader(r.id), t('readers.deleted', { label: r.label }));
}

// ---------------------------------------------------------------- start

async function start() {
  setLang(lang());
  translateShell();
  for (const b of document.querySelectorAll('[data-lang]')) {
    b.addEventListener('click', () => { setLang(b.dataset.lang); translateShell(); route({ keepFocus: null }).then(() => b.focus()); });
  }
  session = await local('GET', '/_local/session');
  api = new Api(session.apiBase, session.token);
  window.addEventListener('hashchange', () => {
    // A confirmation belongs to the view it was said on; an error stays
    // until the next message.
    if (toast.classList.contains('ok')) toast.textContent = '';
    route();
  });
  await route();
}

start().catch((e) => say(explain(e), 'error'));
