// What a form checks before it sends anything, every field at once, and
// how the API's answers are put in the staff's words: each error code has
// its wording (i18n.js, err.<code>), and an invalid_request's `field`
// places its message under the field it came from.

import { ApiError } from './api.js';
import { FieldErrors } from './dom.js';
import { t, has, parseMoney } from './i18n.js';

// The API's field names, worded by what staff can do about them (the
// API's own text is English and speaks of JSON).
const fieldWords = {
  number: () => t('invalid.number'),
  total: () => t('invalid.amount'),
  balanceDue: () => t('invalid.amount'),
  'lines[0].amount': () => t('invalid.amount'),
  'patient.email': () => t('invalid.email'),
  'patient.name': () => t('invalid.required'),
  'lines[0].description': () => t('invalid.required'),
  name: () => t('invalid.name'),
  to: () => t('invalid.email'),
  replyToEmail: () => t('invalid.email'),
  message: () => t('invalid.message'),
  dueOn: () => t('invalid.dueOn'),
  'reminders.beforeDue': () => t('invalid.days', { most: 3, max: 30 }),
  'reminders.afterDue': () => t('invalid.days', { most: 6, max: 120 }),
  'address.line1': () => t('invalid.required'),
  'address.line2': () => t('invalid.line2'),
  'address.city': () => t('invalid.required'),
  'address.state': () => t('invalid.state'),
  'address.postalCode': () => t('invalid.postalCode'),
  'address.country': () => t('invalid.country'),
  label: () => t('invalid.label'),
  registrationCode: () => t('invalid.registrationCode'),
};

// fieldKey is the longest of keys that names field or a part of it
// ("reminders.beforeDue[1]" → "reminders.beforeDue").
function fieldKey(field, keys) {
  return keys.filter((k) => field === k || field.startsWith(`${k}.`) || field.startsWith(`${k}[`))
    .sort((a, b) => b.length - a.length)[0];
}

// explain says an error in the staff's language: the wording of its code
// (of its field, for invalid_request), never the API's English text,
// except for a code the console does not know yet.
export function explain(e) {
  if (!(e instanceof ApiError)) return String(e.message ?? e);
  if (e.status === 0) return t('err.network_error');
  const seconds = Number(e.retryAfter) > 0 ? Number(e.retryAfter) : 1;
  if (e.code === 'invalid_request' && e.field) {
    const key = fieldKey(e.field, Object.keys(fieldWords));
    if (key) return fieldWords[key]();
  }
  if (has(`err.${e.code}`)) return t(`err.${e.code}`, { seconds, message: e.message });
  return t('error', { status: e.status, code: e.code, message: e.message });
}

// placed turns an API error into what a form shows: under its field when
// the API named one of the form's (fields maps API names to controls), as
// the form's error otherwise.
export function placed(e, fields = {}) {
  if (e instanceof ApiError && e.field) {
    const key = fieldKey(e.field, Object.keys(fields));
    if (key) {
      const err = new FieldErrors(new Map([[fields[key], explain(e)]]));
      err.summary = t('form.fix');
      return err;
    }
  }
  const err = new Error(explain(e));
  err.code = e.code;
  return err;
}

const emailPattern = /^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]{2,}$/;

// Checks gathers every field's problem before a form is sent; done()
// throws them all at once.
export class Checks {
  constructor() { this.errors = new Map(); }

  fail(control, message) {
    if (!this.errors.has(control)) this.errors.set(control, message);
  }

  required(control) {
    if (!control.value.trim()) this.fail(control, t('invalid.required'));
    return control.value.trim();
  }

  email(control) {
    const v = control.value.trim();
    if (!v) this.fail(control, t('invalid.required'));
    else if (!emailPattern.test(v)) this.fail(control, t('invalid.email'));
    return v;
  }

  // money reads an amount in cents, above 0 and at most max (when given).
  money(control, max, maxText) {
    const cents = parseMoney(control.value);
    if (cents === null || cents <= 0) this.fail(control, max ? t('invalid.refund', { max: maxText }) : t('invalid.amount'));
    else if (max && cents > max) this.fail(control, t('invalid.refund', { max: maxText }));
    return cents;
  }

  // days reads "3, 7" as [3, 7]: whole numbers from 1 to max, at most
  // most of them, no repeats; empty is none.
  days(control, most, max) {
    const words = control.value.split(/[\s,;]+/).filter(Boolean);
    const days = words.map((w) => (/^\d{1,3}$/.test(w) ? Number(w) : NaN));
    const ok = days.every((d) => d >= 1 && d <= max) && days.length <= most && new Set(days).size === days.length;
    if (!ok) this.fail(control, t('invalid.days', { most, max }));
    return days;
  }

  done() {
    if (this.errors.size === 0) return;
    const err = new FieldErrors(this.errors);
    err.summary = t('form.fix');
    throw err;
  }
}
